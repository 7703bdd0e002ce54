/**
 * `onnx:https://…` and `onnx:s3://…` models: fetched through the dataset sources (the SSRF
 * policy applies), pinned by digest before anything is scored, and cached per pod by digest.
 * A real HTTP server and a real S3-compatible server (s3rver).
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ModelContext } from '../../src/shared/models/model.js';
import { linearRegressorModel } from '../../src/shared/models/onnx/graph-builder.js';
import { loadModel, parseModelRef } from '../../src/shared/models/registry.js';
import { startDatasetServer } from '../helpers/dataset-server.js';
import type { DatasetServer } from '../helpers/dataset-server.js';
import { startS3rver } from '../helpers/s3-server.js';
import type { TestS3 } from '../helpers/s3-server.js';

const MODEL = Buffer.from(linearRegressorModel({ coefficients: [[2, 3]], intercepts: [1] }));
const SHA = createHash('sha256').update(MODEL).digest('hex');
let server: DatasetServer;
let s3: TestS3;
let cacheDir: string;

const context = (allowPrivateNetworks: boolean): ModelContext => ({
  modelRoot: '/nonexistent',
  runtime: { cacheDir, allowPrivateNetworks, allowedCidrs: [], intraOpThreads: 1, executionProvider: 'cpu' },
});

beforeAll(async () => {
  cacheDir = await mkdtemp(path.join(os.tmpdir(), 'bi-model-cache-'));
  server = await startDatasetServer();
  server.set('/m.onnx', MODEL);
  server.set('/pinned.onnx', MODEL);
  s3 = await startS3rver();
  for (const [name, value] of Object.entries(s3.env())) vi.stubEnv(name, value);
  await s3.createBucket('models');
  await s3.put('models', 'm.onnx', MODEL);
});
afterAll(async () => {
  vi.unstubAllEnvs();
  await server.stop();
  await s3.stop();
});

describe('onnx models by URL', () => {
  it('loads from http(s) and s3 and scores', async () => {
    for (const ref of [`onnx:${server.url('/m.onnx')}`, 'onnx:s3://models/m.onnx']) {
      const model = await loadModel(parseModelRef(ref, context(true)));
      expect(await model.predict([[1, 1]]), ref).toEqual([6]);
    }
  });

  it('refuses a loopback model URL unless private networks are allowed (the dataset SSRF policy)', async () => {
    await expect(loadModel(parseModelRef(`onnx:${server.url('/m.onnx?x=1')}`, context(false)))).rejects.toMatchObject({
      code: 'MODEL_INVALID',
    });
  });

  it('a missing object is MODEL_NOT_FOUND; a wrong pin MODEL_INVALID', async () => {
    await expect(loadModel(parseModelRef(`onnx:${server.url('/gone.onnx')}`, context(true)))).rejects.toMatchObject({
      code: 'MODEL_NOT_FOUND',
    });
    await expect(loadModel(parseModelRef('onnx:s3://models/gone.onnx', context(true)))).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
    const wrong = `onnx:${server.url('/m.onnx')}?sha256=${'a'.repeat(64)}`;
    await expect(loadModel(parseModelRef(wrong, context(true)))).rejects.toMatchObject({ code: 'MODEL_INVALID' });
  });

  it('caches a pinned download by digest: a second process (a new cache key here) does not download again', async () => {
    const url = server.url('/pinned.onnx');
    const fetches = (): number => server.requestsFor('/pinned.onnx').length;
    await loadModel(parseModelRef(`onnx:${url}?sha256=${SHA}`, context(true)));
    expect(await readdir(cacheDir)).toContain(`${SHA}.onnx`);
    const before = fetches();
    // Another reference to the same pinned model: not in this process's cache, found on disk.
    const again = await loadModel(parseModelRef(`onnx:${url}?v=2&sha256=${SHA}`, context(true)));
    expect(await again.predict([[0, 0]])).toEqual([1]);
    expect(fetches()).toBe(before);
  });
});
