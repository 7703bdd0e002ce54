/**
 * The s3 source and sink against real S3-compatible servers, through a proxy that throttles
 * and cuts connections on demand: s3rver (always) and moto_server (when on PATH; it enforces
 * `If-Match` as AWS does, so the conditional cases show the store's own 412 there). The
 * clients are made by `createS3Client`, so the production settings (adaptive retries) apply.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Client, S3Store } from '../../src/shared/io/s3/s3-store.js';
import { createS3SinkScheme } from '../../src/shared/io/sinks/s3-sink.js';
import type { SinkScheme } from '../../src/shared/io/sinks/output-sink.js';
import type { DatasetSource, OpenOptions } from '../../src/shared/io/sources/dataset-source.js';
import { createS3Source } from '../../src/shared/io/sources/s3-source.js';
import { S3FaultProxy } from '../helpers/s3-fault-proxy.js';
import { motoServer, startMoto, startS3rver, TEST_SECRET_KEY } from '../helpers/s3-server.js';
import type { TestS3 } from '../helpers/s3-server.js';

const BUCKET = 'data';
const options = (extra: Partial<OpenOptions> = {}): OpenOptions => ({
  signal: new AbortController().signal,
  idleTimeoutMs: 10_000,
  allowPrivateNetworks: false,
  ...extra,
});

async function text(stream: NodeJS.ReadableStream): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(Buffer.from(chunk));
  return Buffer.concat(parts).toString('utf8');
}

/** `n` bytes of distinct lines, so a misplaced byte range shows. */
const lines = (n: number): string => {
  let out = '';
  for (let i = 0; out.length < n; i++) out += `${JSON.stringify({ id: i, features: [i, i + 1] })}\n`;
  return out.slice(0, n);
};

const SERVERS = [
  { kind: 's3rver', start: startS3rver, skip: false },
  { kind: 'moto', start: startMoto, skip: motoServer() === undefined },
] as const;

for (const server of SERVERS) {
  describe.skipIf(server.skip)(`s3 on ${server.kind}${server.skip ? ' (skipped: moto_server is not on PATH)' : ''}`, () => {
    let s3: TestS3;
    let proxy: S3FaultProxy;
    let source: DatasetSource;
    let sinks: SinkScheme;
    /** The store honours If-Match itself (moto, AWS); s3rver ignores it and the ETag check catches the change. */
    const enforcesIfMatch = server.kind === 'moto';

    beforeAll(async () => {
      const started = await server.start();
      if (!started) throw new Error('unreachable: skipped without moto_server');
      s3 = started;
      await s3.createBucket(BUCKET);
      proxy = await new S3FaultProxy(s3.endpoint).start();
      const client = createS3Client({
        endpoint: proxy.url,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: TEST_SECRET_KEY },
      });
      const store = new S3Store(client);
      source = createS3Source(() => Promise.resolve(store));
      sinks = createS3SinkScheme(() => Promise.resolve(store));
    });

    afterAll(async () => {
      await proxy?.stop();
      await s3?.stop();
    });

    it('reports a missing bucket, key or prefix as DATASET_NOT_FOUND; lists a prefix in order without empty objects', async () => {
      await expect(source.stat(new URL('s3://no-such-bucket/in.jsonl'), options())).rejects.toMatchObject({ code: 'DATASET_NOT_FOUND' });
      await expect(source.open(new URL('s3://no-such-bucket/in.jsonl'), options())).rejects.toMatchObject({ code: 'DATASET_NOT_FOUND' });
      await expect(source.stat(new URL(`s3://${BUCKET}/absent.jsonl`), options())).rejects.toMatchObject({ code: 'DATASET_NOT_FOUND' });
      await expect(source.list?.(new URL(`s3://${BUCKET}/empty-prefix/`), options())).rejects.toMatchObject({ code: 'DATASET_NOT_FOUND' });
      await expect(source.list?.(new URL('s3://no-such-bucket/p/'), options())).rejects.toMatchObject({ code: 'DATASET_NOT_FOUND' });

      const etags: Record<string, string> = {};
      for (const key of ['dt=1/part-b.jsonl', 'dt=1/part-a.jsonl', 'dt=1/sub/part-c.jsonl'])
        etags[key] = await s3.put(BUCKET, key, `${key}\n`);
      await s3.put(BUCKET, 'dt=1/empty.jsonl', '');
      await s3.put(BUCKET, 'dt=1/folder/', '');
      // With or without the trailing slash, when no object has the key itself.
      for (const prefix of [`s3://${BUCKET}/dt=1/`, `s3://${BUCKET}/dt=1`]) {
        const entries = await source.list?.(new URL(prefix), options());
        expect(entries?.map((e) => e.url)).toEqual([
          `s3://${BUCKET}/dt=1/part-a.jsonl`,
          `s3://${BUCKET}/dt=1/part-b.jsonl`,
          `s3://${BUCKET}/dt=1/sub/part-c.jsonl`,
        ]);
        expect(entries?.[0]).toMatchObject({ size: 'dt=1/part-a.jsonl\n'.length, version: `etag:${etags['dt=1/part-a.jsonl']}` });
      }
      const stat = await source.stat(new URL(`s3://${BUCKET}/dt=1/part-a.jsonl`), options());
      expect(stat.version).toBe(`etag:${etags['dt=1/part-a.jsonl']}`);
    });

    it('fails a read pinned to a version that was replaced with DATASET_CHANGED', async () => {
      await s3.put(BUCKET, 'pinned.jsonl', lines(1000));
      const { version } = await source.stat(new URL(`s3://${BUCKET}/pinned.jsonl`), options());
      await s3.put(BUCKET, 'pinned.jsonl', lines(1200));
      const read = source.open(new URL(`s3://${BUCKET}/pinned.jsonl`), { ...options(), version, range: { start: 0, end: 100 } });
      await expect(read).rejects.toMatchObject({ code: 'DATASET_CHANGED' });
      const get = proxy.requestsOf('GET').at(-1);
      expect(get?.ifMatch).toBe(version?.slice('etag:'.length));
      expect(get?.status).toBe(enforcesIfMatch ? 412 : 206);
    });

    it('resumes a body cut mid-way from where it stopped, pinned to its ETag', async () => {
      const body = lines(1024 * 1024);
      const etag = await s3.put(BUCKET, 'cut.jsonl', body);
      proxy.failNext('GET', { cutAfterBytes: 100_000 });
      const before = proxy.requestsOf('GET').length;
      const opened = await source.open(new URL(`s3://${BUCKET}/cut.jsonl`), options({ retries: 2 }));
      expect(await text(opened.stream)).toBe(body);
      const gets = proxy.requestsOf('GET').slice(before);
      expect(gets).toHaveLength(2);
      expect(gets[1]?.range).toMatch(/^bytes=[1-9]\d*-$/);
      expect(gets[1]?.ifMatch).toBe(etag);
    });

    it('fails an object replaced while it is read with DATASET_CHANGED instead of mixing versions', async () => {
      await s3.put(BUCKET, 'replaced.jsonl', lines(1024 * 1024));
      proxy.failNext('GET', {
        cutAfterBytes: 100_000,
        onCut: () => s3.put(BUCKET, 'replaced.jsonl', lines(900 * 1024)).then(() => undefined),
      });
      const before = proxy.requestsOf('GET').length;
      const opened = await source.open(new URL(`s3://${BUCKET}/replaced.jsonl`), options({ retries: 2 }));
      await expect(text(opened.stream)).rejects.toMatchObject({ code: 'DATASET_CHANGED' });
      const resume = proxy.requestsOf('GET').slice(before)[1];
      expect(resume?.status).toBe(enforcesIfMatch ? 412 : 206);
    });

    it('leaves throttling (503 SlowDown) to the SDK, which retries it', async () => {
      await s3.put(BUCKET, 'busy.jsonl', 'x\n');
      proxy.failNext('GET', { status: 503 }, { status: 503 });
      const before = proxy.requestsOf('GET').length;
      const opened = await source.open(new URL(`s3://${BUCKET}/busy.jsonl`), options());
      expect(await text(opened.stream)).toBe('x\n');
      expect(
        proxy
          .requestsOf('GET')
          .slice(before)
          .map((r) => r.status),
      ).toEqual([503, 503, 200]);
    });

    it('writes each output whole, a large part as a multipart upload, and replaces it on a retry', async () => {
      const folder = sinks.child(sinks.normalise(new URL(`s3://${BUCKET}/out/`)), 'batch-1');
      const sink = sinks.open(folder);
      const large = lines(17 * 1024 * 1024);
      const puts = proxy.requestsOf('PUT').length;
      await sink.write('part-00000.jsonl', large);
      // Create, three parts of 8 MiB or less, complete.
      expect(proxy.requestsOf('PUT').length - puts).toBe(3);
      expect(await s3.text(BUCKET, 'out/batch-1/part-00000.jsonl')).toBe(large);
      await sink.write('part-00000.jsonl', 'retried\n');
      await sink.write('errors-00000.jsonl', '{}\n');
      expect(await sink.read('part-00000.jsonl')).toBe('retried\n');
      expect((await sink.list()).sort()).toEqual(['errors-00000.jsonl', 'part-00000.jsonl']);
    });

    it('checks an output location by writing to it: a missing bucket is OUTPUT_NOT_WRITABLE, no probe is left behind', async () => {
      await expect(sinks.checkWritable('s3://no-such-bucket/out')).rejects.toMatchObject({ code: 'OUTPUT_NOT_WRITABLE' });
      await sinks.checkWritable(`s3://${BUCKET}/checked`);
      const listed = await source.list?.(new URL(`s3://${BUCKET}/checked/`), options()).catch((err: { code?: string }) => err.code);
      expect(listed).toBe('DATASET_NOT_FOUND');
    });
  });
}

describe('s3 with wrong credentials (s3rver refuses an unknown access key id)', () => {
  let s3: TestS3;
  let source: DatasetSource;
  let sinks: SinkScheme;

  beforeAll(async () => {
    s3 = await startS3rver();
    await s3.createBucket(BUCKET);
    await s3.put(BUCKET, 'in.jsonl', 'x\n');
    const client = createS3Client({
      endpoint: s3.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'AKIAWRONGWRONGWRONG1', secretAccessKey: TEST_SECRET_KEY },
    });
    const store = new S3Store(client);
    source = createS3Source(() => Promise.resolve(store));
    sinks = createS3SinkScheme(() => Promise.resolve(store));
  });

  afterAll(async () => {
    await s3?.stop();
  });

  it('is DATASET_FORBIDDEN for datasets and OUTPUT_NOT_WRITABLE for outputs (checks and writes), the secret in no message', async () => {
    const url = new URL(`s3://${BUCKET}/in.jsonl`);
    const errors = await Promise.all([
      source.stat(url, options()).catch((err: unknown) => err),
      source.open(url, options()).catch((err: unknown) => err),
      source.list?.(new URL(`s3://${BUCKET}/`), options()).catch((err: unknown) => err),
      sinks.checkWritable(`s3://${BUCKET}/out`).catch((err: unknown) => err),
      // A consumer's write: refused for good (no retry would help), not retried.
      sinks
        .open(`s3://${BUCKET}/out/b-1`)
        .write('part-00000.jsonl', 'x\n')
        .catch((err: unknown) => err),
    ]);
    expect(errors.map((e) => (e as { code?: string }).code)).toEqual([
      'DATASET_FORBIDDEN',
      'DATASET_FORBIDDEN',
      'DATASET_FORBIDDEN',
      'OUTPUT_NOT_WRITABLE',
      'OUTPUT_NOT_WRITABLE',
    ]);
    for (const err of errors) expect(JSON.stringify(err, Object.getOwnPropertyNames(err))).not.toContain(TEST_SECRET_KEY);
  });
});
