/**
 * Redis with a password, and over TLS with a private CA (`rediss://` + REDIS_TLS_CA_FILE),
 * through the real services and `batchinfer run`; and the secrets those carry (the Redis
 * password, the API token) appear in no log line any service writes along the way.
 */
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRedisTls } from '../../src/cli/local-redis.js';
import type { BatchView } from '../../src/shared/types.js';
import { runCli, startService } from '../helpers/cli.js';
import type { RunningService } from '../helpers/cli.js';
import { writeJsonlDataset } from '../helpers/datasets.js';
import { expectEveryRecordOnce, readBatchOutput } from '../helpers/output.js';
import { freshPrefix, startTestRedis } from '../helpers/redis.js';
import type { LocalRedis } from '../helpers/redis.js';
import { makeTestCertificates } from '../helpers/tls-certs.js';
import { waitUntil } from '../helpers/wait-until.js';

const PASSWORD = 'Redis-S3cret/p@ss:w0rd';
const TOKEN = 'api-token-7Hq2-must-not-be-logged';

let dir: string;
let certs: LocalRedisTls;
const servers: LocalRedis[] = [];
const services: RunningService[] = [];

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'bi-tls-'));
  certs = await makeTestCertificates(dir);
});

afterAll(async () => {
  await Promise.all(services.map((s) => s.stop()));
  await Promise.all(servers.map((s) => s.stop()));
});

/** Every spelling of the secrets that could reach a log: as is, and URL-encoded. */
function expectNoSecrets(text: string, what: string): void {
  for (const secret of [PASSWORD, encodeURIComponent(PASSWORD), TOKEN]) expect(text, `${what} contains a secret`).not.toContain(secret);
}

describe('Redis password and TLS', () => {
  it('`run` works against a password-protected Redis, and fails in one line (without echoing it) on a wrong one', async () => {
    const redis = await startTestRedis({ password: PASSWORD });
    servers.push(redis);
    expect(redis.url).toContain(encodeURIComponent(PASSWORD));
    const data = await writeJsonlDataset(path.join(dir, 'a.jsonl'), 50);
    const ok = await runCli(['run', data.path, '--output', path.join(dir, 'out-a'), '--json'], {
      env: { REDIS_URL: redis.url, LOG_LEVEL: 'debug' },
    });
    expect(ok.code, ok.stderr).toBe(0);
    expect((JSON.parse(ok.stdout) as { records: { succeeded: number } }).records.succeeded).toBe(50);
    expectNoSecrets(ok.stdout + ok.stderr, '`run` output');

    const wrong = await runCli(['run', data.path, '--output', path.join(dir, 'out-b')], {
      env: { REDIS_URL: redis.url.replace(encodeURIComponent(PASSWORD), 'wrong-password') },
    });
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/REDIS_URL/);
    expect(wrong.stderr).not.toContain('wrong-password');
  });

  it('refuses a TLS Redis whose certificate it cannot verify (no REDIS_TLS_CA_FILE)', async () => {
    const redis = await startTestRedis({ password: PASSWORD, tls: certs });
    servers.push(redis);
    const data = await writeJsonlDataset(path.join(dir, 'b.jsonl'), 5);
    const result = await runCli(['run', data.path, '--output', path.join(dir, 'out-c')], { env: { REDIS_URL: redis.url } });
    expect(result.code).not.toBe(0);
    expectNoSecrets(result.stdout + result.stderr, '`run` output');
  });

  it('services run a batch over rediss:// with a password and a private CA; no log line holds a secret', async () => {
    const redis = await startTestRedis({ password: PASSWORD, tls: certs });
    servers.push(redis);
    expect(redis.url.startsWith('rediss://')).toBe(true);
    const data = await writeJsonlDataset(path.join(dir, 'c.jsonl'), 400, { bad: (line) => line % 97 === 0 });
    const output = path.join(dir, 'out-d');
    const env = {
      REDIS_URL: redis.url,
      REDIS_TLS_CA_FILE: certs.caFile,
      QUEUE_PREFIX: freshPrefix('tls'),
      OUTPUT_URL: pathToFileURL(output).toString(),
      DATASET_ALLOWED_SCHEMES: 'file',
      API_TOKEN: TOKEN,
      CHUNK_SIZE: '100',
      LOG_LEVEL: 'trace',
    };
    const producer = await startService('producer', env);
    const consumer = await startService('consumer', env);
    services.push(producer, consumer);
    const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };

    // Requests that go wrong in the ways that tend to get logged: wrong tokens, bad bodies.
    const wrongAuth: Record<string, string>[] = [
      {},
      { authorization: 'Bearer nope' },
      { authorization: TOKEN },
      { authorization: `Basic ${TOKEN}` },
    ];
    for (const headers of wrongAuth) {
      expect((await fetch(`${producer.url}/v1/batches`, { method: 'POST', headers, body: '{}' })).status).toBe(401);
    }
    expect(
      (await fetch(`${producer.url}/v1/batches?token=${TOKEN}`, { method: 'POST', headers: auth, body: `{"datasetUrl": "${TOKEN}"}` }))
        .status,
    ).toBe(400);

    const res = await fetch(`${producer.url}/v1/batches`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ datasetUrl: pathToFileURL(data.path).toString(), labels: { team: 'risk' } }),
    });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    const view = await waitUntil(async () => {
      const v = (await (await fetch(`${producer.url}/v1/batches/${id}`, { headers: auth })).json()) as BatchView;
      return v.status === 'completed' ? v : undefined;
    });
    expect(view.records.succeeded + view.records.failed).toBe(data.records);
    expectEveryRecordOnce(await readBatchOutput(output, id), data.expected, data.badLines);

    await Promise.all([producer.stop(), consumer.stop()]);
    expect(producer.logs.raw.length).toBeGreaterThan(3);
    expect(consumer.logs.raw.length).toBeGreaterThan(3);
    expectNoSecrets(producer.logs.text(), 'producer log');
    expectNoSecrets(consumer.logs.text(), 'consumer log');
  });
});
