/**
 * ONNX_EXECUTION_PROVIDER on the real onnxruntime-node of this CPU-only machine: `cpu` scores,
 * `cuda` fails at model load with an error naming the variable (this runtime ships no CUDA
 * provider). The CUDA path itself cannot run here: docs/models.md#gpus says so.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/shared/config/config.js';
import { linearRegressorModel } from '../../src/shared/models/onnx/graph-builder.js';
import { loadModel, modelContext, parseModelRef } from '../../src/shared/models/registry.js';

/** True when the installed onnxruntime-node carries a CUDA provider library (never on this machine). */
const ortDir = path.dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
const hasCudaBinaries = existsSync(path.join(ortDir, 'bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so'));

let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'bi-onnx-ep-'));
  await writeFile(path.join(root, 'regressor.onnx'), linearRegressorModel({ coefficients: [[1, 2, 3]], intercepts: [0.5] }));
});

/** The consumer's model context, built from the environment as the consumer builds it. */
function contextFor(env: Record<string, string>): ReturnType<typeof modelContext> {
  const config = loadConfig({ REDIS_URL: 'redis://127.0.0.1:1', MODEL_ROOT: root, ...env });
  return modelContext(config, config);
}

describe('ONNX_EXECUTION_PROVIDER', () => {
  it('defaults to cpu, and a cpu model scores', async () => {
    const context = contextFor({});
    expect(context.runtime?.executionProvider).toBe('cpu');
    const model = await loadModel(parseModelRef('onnx:regressor.onnx', context));
    expect(await model.predict([[1, 1, 1]])).toEqual([6.5]);
  });

  it('refuses values other than cpu and cuda, naming the variable', () => {
    expect(() => contextFor({ ONNX_EXECUTION_PROVIDER: 'rocm' })).toThrow(/ONNX_EXECUTION_PROVIDER/);
  });

  it.skipIf(hasCudaBinaries)(
    'cuda without CUDA binaries fails at model load as MODEL_INVALID naming the variable and the model',
    async () => {
      const context = contextFor({ ONNX_EXECUTION_PROVIDER: 'cuda' });
      expect(context.runtime?.executionProvider).toBe('cuda');
      // A fresh file name: the per-process model cache must not hand back the cpu session above.
      await writeFile(path.join(root, 'on-gpu.onnx'), linearRegressorModel({ coefficients: [[1, 2, 3]], intercepts: [0.5] }));
      const err = await loadModel(parseModelRef('onnx:on-gpu.onnx', context)).then(
        () => new Error('loaded'),
        (e: unknown) => e as Error,
      );
      expect(err).toMatchObject({ code: 'MODEL_INVALID' });
      expect(err.message).toContain('ONNX_EXECUTION_PROVIDER=cuda');
      expect(err.message).toContain('onnx:on-gpu.onnx');
    },
  );
});
