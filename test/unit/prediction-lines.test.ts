import { describe, expect, it } from 'vitest';
import { joinLines, predictionLine } from '../../src/consumer/prediction-lines.js';
import type { Prediction, RecordId } from '../../src/shared/types.js';

/** A record with what the model gave for it. */
interface ScoredRecord {
  id: RecordId;
  prediction: Prediction;
  probabilities?: readonly number[];
  input?: Record<string, unknown>;
}

/** A part's text, as the record pipeline writes it: one line per record. */
const predictionLines = (records: readonly ScoredRecord[]): string =>
  joinLines(records.map((r) => predictionLine(r.id, r.prediction, r.probabilities, r.input)));

describe('predictionLine and joinLines', () => {
  it('writes exactly what JSON.stringify({id, prediction}) writes, one line per record', () => {
    const ids = [1, 'r-"2"', 3.5, -0, 1e21, 'ü\n'];
    const predictions = [6, 15.000000000000002, 'setosa', [1, 2], { label: 'a' }, -1e-7];
    const records: ScoredRecord[] = ids.map((id, i) => ({ id, prediction: predictions[i] as ScoredRecord['prediction'] }));
    const expected = records.map((r) => JSON.stringify({ id: r.id, prediction: r.prediction })).join('\n') + '\n';
    expect(predictionLines(records)).toBe(expected);
  });

  it('adds probabilities and kept input fields in that order, as JSON.stringify would', () => {
    const records: ScoredRecord[] = [
      { id: 'a', prediction: 'Iris-setosa', probabilities: [0.9, 0.05, 0.05], input: { species: 'Iris-setosa' } },
      { id: 7, prediction: 2, probabilities: [0, 0.25, 0.75] },
      { id: 8, prediction: 1.5, input: { when: null } },
    ];
    const expected = records.map((r) => JSON.stringify(r)).join('\n') + '\n';
    expect(predictionLines(records)).toBe(expected);
  });

  it('writes nothing for no records', () => {
    expect(predictionLines([])).toBe('');
  });
});
