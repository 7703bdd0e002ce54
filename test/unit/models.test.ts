import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadLinearModel } from '../../src/shared/models/kinds/linear.js';
import { DrillFault } from '../../src/shared/models/kinds/drill.js';
import { sumModel } from '../../src/shared/models/kinds/sum.js';
import { ModelError } from '../../src/shared/errors.js';
import { loadModel, parseModelRef } from '../../src/shared/models/registry.js';

describe('models', () => {
  it('sum predicts the sum of the features (the reference lab)', () => {
    expect(
      sumModel.predict([
        [1, 2, 3],
        [4, 5, 6],
      ]),
    ).toEqual([6, 15]);
  });

  it('linear applies weights and bias from its JSON file', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'bi-model-'));
    await writeFile(path.join(dir, 'w.json'), JSON.stringify({ weights: [2, -1], bias: 0.5 }));
    const model = await loadModel(parseModelRef('linear:w.json', { modelRoot: dir }));
    expect(model.inputSize).toBe(2);
    expect(
      await model.predict([
        [1, 1],
        [3, 0],
      ]),
    ).toEqual([1.5, 6.5]);
  });

  it('refuses a malformed linear model file with a ModelError', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'bi-model-'));
    await writeFile(path.join(dir, 'bad.json'), JSON.stringify({ weights: ['a'] }));
    await expect(loadLinearModel(path.join(dir, 'bad.json'))).rejects.toBeInstanceOf(ModelError);
    await expect(loadLinearModel(path.join(dir, 'missing.json'))).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
    await writeFile(path.join(dir, 'garbage.json'), 'not json');
    await expect(loadLinearModel(path.join(dir, 'garbage.json'))).rejects.toMatchObject({ code: 'MODEL_INVALID' });
  });

  it('sleep waits its delay per chunk, predicts like sum, and stops when aborted', async () => {
    const model = await loadModel(parseModelRef('sleep:30', { modelRoot: '/models' }));
    expect(await model.predict([[1, 2], [3]])).toEqual([3, 3]);
    const abort = new AbortController();
    const slow = (await loadModel(parseModelRef('sleep:60000', { modelRoot: '/models' }))).predict([[1]], { signal: abort.signal });
    abort.abort(new Error('draining'));
    await expect(slow).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('drill predicts like sum, and obeys its file before every chunk: delay, failures, healing', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'bi-model-'));
    const file = path.join(dir, 'drill.json');
    await writeFile(file, JSON.stringify({ failWhenFeature: 999, message: 'boom' }));
    const model = await loadModel(parseModelRef('drill:drill.json', { modelRoot: dir }));
    expect(
      await model.predict([
        [1, 2],
        [3, 4],
      ]),
    ).toEqual([3, 7]);
    await expect(
      model.predict([
        [1, 2],
        [999, 4],
      ]),
    ).rejects.toMatchObject({ code: 'MODEL_DRILL_FAULT', message: 'boom' });
    await expect(model.predict([[999, 4]])).rejects.toBeInstanceOf(DrillFault);
    await writeFile(file, JSON.stringify({})); // healed, without a restart
    expect(await model.predict([[999, 4]])).toEqual([1003]);
    await writeFile(file, JSON.stringify({ fail: true }));
    await expect(model.predict([[1]])).rejects.toBeInstanceOf(DrillFault);
    await writeFile(file, JSON.stringify({ delayMs: 'long' }));
    await expect(model.predict([[1]])).rejects.toBeInstanceOf(ModelError);
    // A drill fault is retryable: not one of the errors that fail a chunk at once.
    expect(new DrillFault('x')).not.toBeInstanceOf(ModelError);
  });

  it('parses references and keeps model files inside the model root', () => {
    const spec = (ref: string) => {
      const { kind, cacheKey } = parseModelRef(ref, { modelRoot: '/models' });
      return { kind, cacheKey };
    };
    expect(spec('sum')).toEqual({ kind: 'sum', cacheKey: 'sum' });
    expect(spec('linear:a/b.json')).toEqual({ kind: 'linear', cacheKey: 'linear:/models/a/b.json' });
    expect(spec('sleep:250')).toEqual({ kind: 'sleep', cacheKey: 'sleep:250' });
    expect(spec('drill:d.json')).toEqual({ kind: 'drill', cacheKey: 'drill:/models/d.json' });
    expect(parseModelRef('linear:a/b.json', { modelRoot: '/models' }).ref).toBe('linear:a/b.json');
    for (const bad of [
      'nope',
      'sum:x',
      'linear',
      'linear:../etc/passwd',
      'linear:/etc/passwd',
      'sleep',
      'sleep:-1',
      'sleep:1.5',
      'sleep:600001',
      'drill',
      'drill:../x.json',
    ]) {
      expect(() => parseModelRef(bad, { modelRoot: '/models' }), bad).toThrow(ModelError);
    }
  });
});
