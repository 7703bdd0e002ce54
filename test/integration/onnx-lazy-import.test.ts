/**
 * onnxruntime-node is large and native, so only a process that loads an ONNX model imports
 * it: the producer, the exporter, `run` and a consumer that scores other models load none of
 * it (their cold start is unchanged); the first `onnx:` model does. Checked on the compiled
 * modules in a fresh Node process (the runtime is CommonJS, so what loaded shows in the
 * module cache).
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { linearRegressorModel } from '../../src/shared/models/onnx/graph-builder.js';
import { ROOT } from '../helpers/cli.js';

const dist = (...parts: string[]): string => JSON.stringify(path.join(ROOT, 'dist', ...parts));

describe('onnxruntime-node', () => {
  it('is not loaded by the producer, the exporter, run or a consumer scoring other models, until an onnx model is loaded', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'bi-onnx-lazy-'));
    await writeFile(path.join(dir, 'm.onnx'), linearRegressorModel({ coefficients: [[1, 1]], intercepts: [0] }));
    const script = `
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const ortModules = () => Object.keys(require('node:module')._cache).filter((file) => file.includes('onnxruntime')).length;
await import(${dist('producer', 'producer-service.js')});
await import(${dist('exporter', 'exporter-service.js')});
await import(${dist('consumer', 'consumer-service.js')});
await import(${dist('cli', 'run-command.js')});
await import(${dist('cli', 'run-batch.js')});
const { loadModel, parseModelRef } = await import(${dist('shared', 'models', 'registry.js')});
const sum = await loadModel(parseModelRef('sum', { modelRoot: ${JSON.stringify(dir)} }));
await sum.predict([[1, 2]]);
const before = ortModules();
const onnx = await loadModel(parseModelRef('onnx:m.onnx', { modelRoot: ${JSON.stringify(dir)} }));
const predictions = await onnx.predict([[1, 2]]);
console.log(JSON.stringify({ before, after: ortModules(), predictions }));
`;
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(result.status, result.stderr).toBe(0);
    const { before, after, predictions } = JSON.parse(result.stdout) as { before: number; after: number; predictions: number[] };
    expect(before).toBe(0);
    expect(after).toBeGreaterThan(0);
    expect(predictions).toEqual([3]);
  });
});
