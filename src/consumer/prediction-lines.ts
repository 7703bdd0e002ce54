/**
 * Serialises a chunk's predictions as JSON lines `{"id":…,"prediction":…,"input":{…}}`
 * (`input` only for records that keep fields). This is the consumer's hottest loop after
 * parsing, so numbers (the common case for ids and predictions) are written directly instead
 * of going through JSON.stringify of an object per record; the output is byte-identical to
 * `JSON.stringify({id, prediction, input})`.
 */
import type { Prediction, RecordId } from '../shared/types.js';

/** JSON text of a value; finite numbers directly (what JSON.stringify writes for them). */
function jsonValue(value: unknown): string {
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'null';
  return JSON.stringify(value) ?? 'null';
}

export function predictionLines(
  records: readonly { id: RecordId; input?: Record<string, unknown> }[],
  predictions: readonly Prediction[],
): string {
  const lines = new Array<string>(records.length + 1);
  for (let i = 0; i < records.length; i++) {
    const record = records[i];
    const input = record?.input === undefined ? '' : `,"input":${JSON.stringify(record.input)}`;
    lines[i] = `{"id":${jsonValue(record?.id)},"prediction":${jsonValue(predictions[i])}${input}}`;
  }
  lines[records.length] = '';
  return lines.join('\n');
}
