import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadLinearModel } from '../../src/consumer/models/linear-model.js';
import { loadModel } from '../../src/consumer/models/load-model.js';
import { sumModel } from '../../src/consumer/models/sum-model.js';
import { ModelError } from '../../src/shared/errors.js';
import { parseModelRef } from '../../src/shared/model-ref.js';

describe('models', () => {
  it('sum predicts the sum of the features (the reference lab)', () => {
    expect(sumModel.predict([[1, 2, 3], [4, 5, 6]])).toEqual([6, 15]);
  });

  it('linear applies weights and bias from its JSON file', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'bi-model-'));
    await writeFile(path.join(dir, 'w.json'), JSON.stringify({ weights: [2, -1], bias: 0.5 }));
    const model = await loadModel(parseModelRef('linear:w.json', dir));
    expect(model.inputSize).toBe(2);
    expect(await model.predict([[1, 1], [3, 0]])).toEqual([1.5, 6.5]);
  });

  it('refuses a malformed linear model file with a ModelError', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'bi-model-'));
    await writeFile(path.join(dir, 'bad.json'), JSON.stringify({ weights: ['a'] }));
    await expect(loadLinearModel(path.join(dir, 'bad.json'))).rejects.toBeInstanceOf(ModelError);
    await expect(loadLinearModel(path.join(dir, 'missing.json'))).rejects.toBeInstanceOf(ModelError);
  });

  it('sleep waits its delay per chunk, predicts like sum, and stops when aborted', async () => {
    const model = await loadModel(parseModelRef('sleep:30', '/models'));
    expect(await model.predict([[1, 2], [3]])).toEqual([3, 3]);
    const abort = new AbortController();
    const slow = (await loadModel(parseModelRef('sleep:60000', '/models'))).predict([[1]], { signal: abort.signal });
    abort.abort(new Error('draining'));
    await expect(slow).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('parses references and keeps model files inside the model root', () => {
    expect(parseModelRef('sum', '/models')).toEqual({ kind: 'sum', ref: 'sum' });
    expect(parseModelRef('linear:a/b.json', '/models').file).toBe('/models/a/b.json');
    expect(parseModelRef('sleep:250', '/models')).toEqual({ kind: 'sleep', sleepMs: 250, ref: 'sleep:250' });
    for (const bad of ['nope', 'sum:x', 'linear', 'linear:../etc/passwd', 'linear:/etc/passwd', 'sleep', 'sleep:-1', 'sleep:1.5', 'sleep:600001']) {
      expect(() => parseModelRef(bad, '/models'), bad).toThrow(ModelError);
    }
  });
});
