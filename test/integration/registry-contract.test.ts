/**
 * The plug-in contract: every registered model kind, dataset source, dataset format and
 * output scheme goes through the same cases (good input, bad input, error codes). A plug-in
 * registered without a fixture here fails the first test of its family, so a new one cannot
 * land untested. Real files, a real HTTP server, a real S3-compatible server (s3rver).
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { FORMATS } from '../../src/shared/formats/registry.js';
import { DEFAULT_SCHEMA, isFault } from '../../src/shared/formats/record-format.js';
import type { RecordSchema } from '../../src/shared/formats/record-format.js';
import type { OpenOptions } from '../../src/shared/io/sources/dataset-source.js';
import { SOURCES } from '../../src/shared/io/sources/registry.js';
import { SINK_SCHEMES } from '../../src/shared/io/sinks/registry.js';
import { linearRegressorModel } from '../../src/shared/models/onnx/graph-builder.js';
import { MODEL_KINDS, loadModel, parseModelRef } from '../../src/shared/models/registry.js';
import { startDatasetServer } from '../helpers/dataset-server.js';
import type { DatasetServer } from '../helpers/dataset-server.js';
import { startS3rver } from '../helpers/s3-server.js';
import type { TestS3 } from '../helpers/s3-server.js';

let dir: string;
let server: DatasetServer;
let s3: TestS3;
const CONTENT = '0123456789';

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'bi-contract-'));
  await writeFile(path.join(dir, 'w.json'), JSON.stringify({ weights: [1, 1], bias: 0 }));
  await writeFile(path.join(dir, 'd.json'), '{}');
  // An skl2onnx-layout LinearRegressor, built with onnx-proto (skl2onnx is not installable here).
  await writeFile(path.join(dir, 'r.onnx'), linearRegressorModel({ coefficients: [[1, 1]], intercepts: [0] }));
  await mkdir(path.join(dir, 'folder'));
  await writeFile(path.join(dir, 'folder', 'b.jsonl'), CONTENT);
  await writeFile(path.join(dir, 'folder', 'a.jsonl'), CONTENT);
  await writeFile(path.join(dir, 'folder', 'empty.jsonl'), '');
  await writeFile(path.join(dir, 'object.jsonl'), CONTENT);
  server = await startDatasetServer();
  server.set('/object.jsonl', CONTENT);
  s3 = await startS3rver();
  // The registered s3 plug-ins use the SDK's own configuration, as in production.
  for (const [name, value] of Object.entries(s3.env())) vi.stubEnv(name, value);
  await s3.createBucket('contract');
  for (const key of ['object.jsonl', 'folder/b.jsonl', 'folder/a.jsonl']) await s3.put('contract', key, CONTENT);
  await s3.put('contract', 'folder/empty.jsonl', '');
  await s3.put('contract', 'folder/sub/', '');
});
afterAll(async () => {
  vi.unstubAllEnvs();
  await server.stop();
  await s3.stop();
});

const names = <T>(items: readonly T[], name: (item: T) => string): string[] => items.map(name).sort();

async function text(stream: Readable): Promise<string> {
  let out = '';
  for await (const chunk of stream) out += String(chunk);
  return out;
}

describe('model kinds', () => {
  /** Per kind: references that load, references refused at parse (with their code), and one whose file is missing. */
  const fixtures: Record<string, { good: string; bad: string[]; missing?: string }> = {
    sum: { good: 'sum', bad: ['sum:x'] },
    linear: { good: 'linear:w.json', bad: ['linear', 'linear:../w.json', 'linear:/etc/passwd'], missing: 'linear:nope.json' },
    onnx: { good: 'onnx:r.onnx', bad: ['onnx', 'onnx:../r.onnx', 'onnx:/etc/passwd', 'onnx:r.onnx?sha256=x'], missing: 'onnx:nope.onnx' },
    sleep: { good: 'sleep:1', bad: ['sleep', 'sleep:-1', 'sleep:999999999'] },
    drill: { good: 'drill:d.json', bad: ['drill', 'drill:../d.json'], missing: 'drill:nope.json' },
  };

  it('has a fixture for every registered kind', () => {
    expect(names(MODEL_KINDS, (k) => k.name)).toEqual(Object.keys(fixtures).sort());
  });

  it.each(MODEL_KINDS.map((k) => k.name))('%s: parses, loads once, scores a batch; refuses bad references with codes', async (name) => {
    const fixture = fixtures[name];
    if (!fixture) throw new Error(`no fixture for ${name}`);
    const context = { modelRoot: dir };
    const spec = parseModelRef(fixture.good, context);
    expect(spec).toMatchObject({ kind: name, ref: fixture.good });
    const model = await loadModel(spec);
    expect(await loadModel(parseModelRef(fixture.good, context))).toBe(model);
    const predictions = await model.predict([
      [1, 2],
      [3, 4],
    ]);
    expect(predictions).toHaveLength(2);
    expect(predictions.every((p) => typeof p === 'number' && Number.isFinite(p))).toBe(true);
    for (const bad of fixture.bad)
      expect(() => parseModelRef(bad, context), bad).toThrow(expect.objectContaining({ code: 'MODEL_INVALID' }));
    if (fixture.missing)
      await expect(loadModel(parseModelRef(fixture.missing, context))).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
  });

  it('refuses an unknown kind as MODEL_NOT_FOUND', () => {
    expect(() => parseModelRef('nope:x', { modelRoot: dir })).toThrow(expect.objectContaining({ code: 'MODEL_NOT_FOUND' }));
  });
});

describe('dataset sources', () => {
  const options = (): OpenOptions => ({ signal: new AbortController().signal, idleTimeoutMs: 5000, allowPrivateNetworks: true });
  /** Per scheme: a 10-byte object, a missing one, a folder of two non-empty objects (where the scheme has folders). */
  const fixtures: Record<string, () => { object: string; missing: string; folder?: string; refusedHost?: string }> = {
    file: () => ({
      object: pathToFileURL(path.join(dir, 'object.jsonl')).toString(),
      missing: pathToFileURL(path.join(dir, 'missing.jsonl')).toString(),
      folder: pathToFileURL(path.join(dir, 'folder')).toString(),
    }),
    http: () => ({ object: server.url('/object.jsonl'), missing: server.url('/missing.jsonl'), refusedHost: server.url('/object.jsonl') }),
    s3: () => ({ object: 's3://contract/object.jsonl', missing: 's3://contract/missing.jsonl', folder: 's3://contract/folder/' }),
  };

  it('has a fixture for every registered source', () => {
    expect(names(SOURCES, (s) => s.schemes[0] ?? '')).toEqual(Object.keys(fixtures).sort());
  });

  it.each(SOURCES.map((s) => s.schemes[0] ?? ''))(
    '%s: stat, whole and ranged reads pinned to a version, errors by code',
    async (scheme) => {
      const source = SOURCES.find((s) => s.schemes[0] === scheme);
      const fixture = fixtures[scheme]?.();
      if (!source || !fixture) throw new Error(`no fixture for ${scheme}`);
      const url = new URL(fixture.object);
      const stat = await source.stat(url, options());
      expect(stat).toMatchObject({ size: CONTENT.length, rangeable: true });
      expect(stat.version).toBeDefined();
      const whole = await source.open(url, { ...options(), version: stat.version });
      expect(await text(whole.stream)).toBe(CONTENT);
      expect(whole.version).toBe(stat.version);
      const range = await source.open(url, { ...options(), range: { start: 2, end: 5 }, version: stat.version });
      expect(await text(range.stream)).toBe('234');
      await expect(source.open(url, { ...options(), range: { start: 0, end: 3 }, version: 'etag:"other"' })).rejects.toMatchObject({
        code: 'DATASET_CHANGED',
      });
      await expect(source.stat(new URL(fixture.missing), options())).rejects.toMatchObject({ code: 'DATASET_NOT_FOUND' });
      await expect(source.open(new URL(fixture.missing), options())).rejects.toMatchObject({ code: 'DATASET_NOT_FOUND' });
      if (fixture.folder) {
        const entries = await source.list?.(new URL(fixture.folder), options());
        expect(entries?.map((e) => path.basename(e.url))).toEqual(['a.jsonl', 'b.jsonl']);
        expect(await source.list?.(url, options())).toBeUndefined();
      }
      const strict = { allowPrivateNetworks: false, allowedCidrs: [] };
      if (fixture.refusedHost) {
        await expect(source.admit(new URL(fixture.refusedHost), strict)).rejects.toMatchObject({ code: 'DATASET_URL_REFUSED' });
      } else {
        await expect(source.admit(url, strict)).resolves.toBeUndefined();
      }
    },
  );
});

describe('dataset formats', () => {
  /** Per format: a header (when it has one), good and bad records in the reference layout, and a named-column record. */
  const fixtures: Record<string, { header?: string; good: string; bad: string[]; named: { header?: string; record: string } }> = {
    jsonl: {
      good: '{"id": 1, "features": [1, 2]}',
      bad: ['{"id": 1', '{"id": 1, "features": ["x"]}', '{"features": [1]}'],
      named: { record: '{"key": "k", "a": 1, "b": 2, "note": "text"}' },
    },
    csv: {
      header: 'id,a,b',
      good: '1,1,2',
      bad: ['1,"x', '1,x,2', '1,2'],
      named: { header: 'key,note,a,b', record: 'k,text,1,2' },
    },
  };
  const named: RecordSchema = { features: ['a', 'b'], idField: 'key', keep: ['note'] };

  it('has a fixture for every registered format', () => {
    expect(names(FORMATS, (f) => f.name)).toEqual(Object.keys(fixtures).sort());
  });

  it.each(FORMATS.map((f) => f.name))('%s: good records parse, bad ones are faults with codes, named columns work', (name) => {
    const format = FORMATS.find((f) => f.name === name);
    const fixture = fixtures[name];
    if (!format || !fixture) throw new Error(`no fixture for ${name}`);
    const header = fixture.header === undefined ? undefined : format.parseHeader?.(fixture.header, DEFAULT_SCHEMA);
    expect(header === undefined).toBe(format.parseHeader === undefined);
    const parse = format.recordParser(DEFAULT_SCHEMA, header);
    expect(parse(fixture.good)).toMatchObject({ features: [1, 2] });
    for (const bad of fixture.bad) {
      const result = parse(bad);
      expect(isFault(result), bad).toBe(true);
      if (isFault(result)) expect(result.code, bad).toMatch(/^[A-Z_]+$/);
    }
    const namedHeader = fixture.named.header === undefined ? undefined : format.parseHeader?.(fixture.named.header, named);
    expect(format.recordParser(named, namedHeader)(fixture.named.record)).toEqual({ id: 'k', features: [1, 2], input: { note: 'text' } });
  });
});

describe('output schemes', () => {
  /** Per scheme: a writable root, and a location that cannot be written. */
  const fixtures: Record<string, () => Promise<{ root: string; unwritable: string }>> = {
    file: async () => {
      const root = path.join(dir, 'out');
      await writeFile(path.join(dir, 'a-file'), '');
      return { root: pathToFileURL(root).toString(), unwritable: pathToFileURL(path.join(dir, 'a-file', 'below')).toString() };
    },
    s3: () => Promise.resolve({ root: 's3://contract/out', unwritable: 's3://no-such-bucket/out' }),
  };

  it('has a fixture for every registered scheme', () => {
    expect(names(SINK_SCHEMES, (s) => s.schemes[0] ?? '')).toEqual(Object.keys(fixtures).sort());
  });

  it.each(SINK_SCHEMES.map((s) => s.schemes[0] ?? ''))('%s: contains its children only, writes whole, checks writability', async (name) => {
    const scheme = SINK_SCHEMES.find((s) => s.schemes[0] === name);
    const fixture = await fixtures[name]?.();
    if (!scheme || !fixture) throw new Error(`no fixture for ${name}`);
    const root = scheme.normalise(new URL(`${fixture.root}/`));
    expect(root.endsWith('/')).toBe(false);
    const batch = scheme.child(root, 'b1');
    expect(scheme.contains(root, batch)).toBe(true);
    expect(scheme.contains(root, root)).toBe(true);
    expect(scheme.contains(batch, root)).toBe(false);
    expect(scheme.contains(root, scheme.normalise(new URL(`${root}/../elsewhere`)))).toBe(false);
    await scheme.checkWritable(root);
    const sink = scheme.open(batch);
    await sink.write('part-00000.jsonl', 'one\n');
    await sink.write('part-00000.jsonl', 'two\n');
    expect(await sink.read('part-00000.jsonl')).toBe('two\n');
    expect(await sink.list()).toEqual(['part-00000.jsonl']);
    await sink.remove('part-00000.jsonl');
    await sink.remove('part-00000.jsonl');
    expect(await sink.read('part-00000.jsonl')).toBeUndefined();
    await expect(scheme.checkWritable(fixture.unwritable)).rejects.toMatchObject({ code: 'OUTPUT_NOT_WRITABLE' });
  });
});
