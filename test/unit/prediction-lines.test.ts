import { describe, expect, it } from 'vitest';
import { predictionLines } from '../../src/consumer/prediction-lines.js';

describe('predictionLines', () => {
  it('writes exactly what JSON.stringify({id, prediction}) writes, one line per record', () => {
    const records = [{ id: 1 }, { id: 'r-"2"' }, { id: 3.5 }, { id: -0 }, { id: 1e21 }, { id: 'ü\n' }];
    const predictions = [6, 15.000000000000002, NaN, [1, 2], { label: 'a' }, -1e-7];
    const expected = records.map((r, i) => JSON.stringify({ id: r.id, prediction: predictions[i] })).join('\n') + '\n';
    expect(predictionLines(records, predictions)).toBe(expected);
  });

  it('writes nothing for no records', () => {
    expect(predictionLines([], [])).toBe('');
  });
});
