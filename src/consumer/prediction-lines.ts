/**
 * Serialises a chunk's predictions as JSON lines
 * `{"id":…,"prediction":…,"probabilities":[…],"input":{…}}` (`probabilities` for classifiers,
 * `input` only for records that keep fields). This is the consumer's hottest loop after
 * parsing, so numbers (the common case for ids and predictions) are written directly instead
 * of going through JSON.stringify of an object per record; the output is byte-identical to
 * `JSON.stringify({id, prediction, probabilities, input})`.
 */
import type { Prediction, RecordId } from '../shared/types.js';

/** A record with what the model gave for it. */
export interface ScoredRecord {
  id: RecordId;
  prediction: Prediction;
  probabilities?: readonly number[];
  input?: Record<string, unknown>;
}

/** JSON text of a value; finite numbers directly (what JSON.stringify writes for them). */
function jsonValue(value: unknown): string {
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'null';
  return JSON.stringify(value) ?? 'null';
}

export function predictionLines(records: readonly ScoredRecord[]): string {
  const lines = new Array<string>(records.length + 1);
  for (let i = 0; i < records.length; i++) {
    const record = records[i] as ScoredRecord;
    const probabilities = record.probabilities === undefined ? '' : `,"probabilities":${JSON.stringify(record.probabilities)}`;
    const input = record.input === undefined ? '' : `,"input":${JSON.stringify(record.input)}`;
    lines[i] = `{"id":${jsonValue(record.id)},"prediction":${jsonValue(record.prediction)}${probabilities}${input}}`;
  }
  lines[records.length] = '';
  return lines.join('\n');
}
