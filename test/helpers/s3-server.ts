/**
 * A real S3-compatible server per test file, on a free port of the loopback address:
 * - `s3rver` (npm, in-process): the suite's store. It does not enforce `If-Match`, nor check
 *   SigV4 signatures (an unknown access key id is still refused).
 * - `moto_server` (moto 5, a child process): ranges, multipart and conditional requests as AWS
 *   answers them. Preinstalled on the project's machine image, not installable from the
 *   registries; tests that need it skip visibly when it is not on PATH ({@link motoServer}).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { S3Store } from '../../src/shared/io/s3/s3-store.js';
import type { S3StoreProvider } from '../../src/shared/io/s3/load-s3-store.js';
import type { Manifest } from '../../src/shared/batch/batch-closer.js';
import type { BatchOutput } from './output.js';

export type S3ServerKind = 's3rver' | 'moto';

/** A secret no log line may ever contain: tests scan for it. */
export const TEST_SECRET_KEY = 'batchinfer-test-secret-3Fq9ZxW7kPz2';

export interface TestS3 {
  kind: S3ServerKind;
  endpoint: string;
  /** The access key id the server accepts. */
  accessKeyId: string;
  /** A client of the server, for setting up and reading back objects. */
  client: S3Client;
  /** A store on that client, for sources and sinks made with `createS3Source(provider)`. */
  provider: S3StoreProvider;
  /**
   * The environment a batchinfer process needs to use this server through the SDK's own
   * variables; the other AWS variables unset, so nothing from the machine leaks in.
   */
  env(overrides?: Record<string, string | undefined>): Record<string, string | undefined>;
  createBucket(name: string): Promise<void>;
  put(bucket: string, key: string, body: string | Buffer): Promise<string>;
  /** The object's text, or undefined when there is none. */
  text(bucket: string, key: string): Promise<string | undefined>;
  /** Every key under `prefix`, in order. */
  keys(bucket: string, prefix: string): Promise<string[]>;
  stop(): Promise<void>;
}

let motoPath: string | null | undefined;

/**
 * The path of `moto_server` when it is on PATH and runs (a pyenv shim can be on PATH with no
 * Python behind it), else undefined. Asked once per process.
 */
export function motoServer(): string | undefined {
  if (motoPath === undefined) {
    const found = spawnSync('sh', ['-c', 'command -v moto_server'], { encoding: 'utf8' });
    const file = found.status === 0 ? found.stdout.trim() : '';
    motoPath = file !== '' && spawnSync(file, ['--help'], { stdio: 'ignore', timeout: 30_000 }).status === 0 ? file : null;
  }
  return motoPath ?? undefined;
}

const REGION = 'us-east-1';

function testS3(kind: S3ServerKind, endpoint: string, accessKeyId: string, stop: () => Promise<void>): TestS3 {
  const client = new S3Client({
    endpoint,
    region: REGION,
    forcePathStyle: true,
    credentials: { accessKeyId, secretAccessKey: TEST_SECRET_KEY },
  });
  const store = new S3Store(client);
  return {
    kind,
    endpoint,
    accessKeyId,
    client,
    provider: () => Promise.resolve(store),
    env: (overrides = {}) => ({
      AWS_ENDPOINT_URL_S3: endpoint,
      AWS_ENDPOINT_URL: undefined,
      AWS_REGION: REGION,
      AWS_DEFAULT_REGION: undefined,
      AWS_ACCESS_KEY_ID: accessKeyId,
      AWS_SECRET_ACCESS_KEY: TEST_SECRET_KEY,
      AWS_SESSION_TOKEN: undefined,
      AWS_PROFILE: undefined,
      AWS_ROLE_ARN: undefined,
      AWS_WEB_IDENTITY_TOKEN_FILE: undefined,
      AWS_CONFIG_FILE: '/nonexistent',
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
      AWS_EC2_METADATA_DISABLED: 'true',
      S3_FORCE_PATH_STYLE: 'true',
      ...overrides,
    }),
    async createBucket(name) {
      await client.send(new CreateBucketCommand({ Bucket: name }));
    },
    async put(bucket, key, body) {
      const bytes = typeof body === 'string' ? Buffer.from(body) : body;
      const out = await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes, ContentLength: bytes.length }));
      return out.ETag ?? '';
    },
    async text(bucket, key) {
      try {
        const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        return await out.Body?.transformToString('utf8');
      } catch (err) {
        if ((err as { name?: string }).name === 'NoSuchKey') return undefined;
        throw err;
      }
    },
    async keys(bucket, prefix) {
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
        keys.push(...(page.Contents ?? []).flatMap((o) => (o.Key === undefined ? [] : [o.Key])));
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      return keys;
    },
    async stop() {
      client.destroy();
      await stop();
    },
  };
}

/** s3rver in this process, storing into a fresh temporary folder. */
export async function startS3rver(): Promise<TestS3> {
  const directory = await mkdtemp(path.join(os.tmpdir(), 'bi-s3rver-'));
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory });
  const { port } = await server.run();
  return testS3('s3rver', `http://127.0.0.1:${port}`, 'S3RVER', async () => {
    await server.close();
    await rm(directory, { recursive: true, force: true });
  });
}

/** moto_server as a child process on a free port; undefined when it is not installed. */
export async function startMoto(): Promise<TestS3 | undefined> {
  const moto = motoServer();
  if (!moto) return undefined;
  const child = spawn(moto, ['-H', '127.0.0.1', '-p', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const port = await new Promise<number>((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`moto_server did not start within 30 s:\n${seen}`)), 30_000);
    const onData = (data: Buffer): void => {
      seen += data.toString();
      const match = /Running on http:\/\/127\.0\.0\.1:(\d+)/.exec(seen);
      if (!match) return;
      clearTimeout(timer);
      resolve(Number(match[1]));
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`moto_server exited (${code}):\n${seen}`)));
  });
  return testS3('moto', `http://127.0.0.1:${port}`, 'testing', async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  });
}

const jsonLines = <T>(text: string): T[] =>
  text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as T);

/** A batch's output folder in a bucket, `<prefix>/<batchId>/`, read like `readBatchOutput` reads a local one. */
export async function readS3BatchOutput(s3: TestS3, bucket: string, prefix: string, batchId: string): Promise<BatchOutput> {
  const dir = `${prefix === '' ? '' : `${prefix}/`}${batchId}/`;
  const files = (await s3.keys(bucket, dir)).map((key) => key.slice(dir.length)).sort();
  const out: BatchOutput = { dir: `s3://${bucket}/${dir}`, predictions: [], errors: [], manifest: undefined, files, strays: [] };
  for (const name of files) {
    const text = (await s3.text(bucket, `${dir}${name}`)) ?? '';
    if (/^part-\d{5,}\.jsonl$/.test(name)) out.predictions.push(...jsonLines<BatchOutput['predictions'][number]>(text));
    else if (/^errors-\d{5,}\.jsonl$/.test(name)) out.errors.push(...jsonLines<BatchOutput['errors'][number]>(text));
    else if (name === 'manifest.json') out.manifest = JSON.parse(text) as Manifest;
    else out.strays.push(name);
  }
  return out;
}
