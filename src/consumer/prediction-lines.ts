/**
 * Serialises a chunk's predictions as JSON lines
 * `{"id":…,"prediction":…,"probabilities":[…],"input":{…}}` (`probabilities` for classifiers,
 * `input` only for records that keep fields). This is the consumer's hottest loop after
 * parsing, so numbers (the common case for ids and predictions) are written directly instead
 * of going through JSON.stringify of an object per record; the output is byte-identical to
 * `JSON.stringify({id, prediction, probabilities, input})`.
 */
import type { Prediction, RecordId } from '../shared/types.js';

/** JSON text of a value; finite numbers directly (what JSON.stringify writes for them). */
function jsonValue(value: unknown): string {
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'null';
  return JSON.stringify(value) ?? 'null';
}

/** One record's output line (without the newline). */
export function predictionLine(
  id: RecordId,
  prediction: Prediction,
  probabilities?: readonly number[],
  input?: Record<string, unknown>,
): string {
  const tail =
    (probabilities === undefined ? '' : `,"probabilities":${JSON.stringify(probabilities)}`) +
    (input === undefined ? '' : `,"input":${JSON.stringify(input)}`);
  return `{"id":${jsonValue(id)},"prediction":${jsonValue(prediction)}${tail}}`;
}

/** A part's text: the lines, each ended by a newline. */
export function joinLines(lines: readonly string[]): string {
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}
