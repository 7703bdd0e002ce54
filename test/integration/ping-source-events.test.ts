/**
 * Scheduled runs: CloudEvents on the producer's `POST /`, shaped exactly like Knative's
 * ping adapter sends them (knative/eventing pkg/adapter/mtping/runner.go: binary mode, a
 * uuid per tick, `ce-time` when sent, body = the PingSource's `spec.data`). One tick makes
 * one batch whatever is redelivered, and the batch completes. No Knative runs here: the
 * test plays the adapter's part over real HTTP.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Redis } from 'ioredis';
import { describe, expect } from 'vitest';
import { batchIndexKey } from '../../src/shared/batch/keys.js';
import type { BatchView } from '../../src/shared/types.js';
import type { RunningService } from '../helpers/cli.js';
import { writeJsonlDataset } from '../helpers/datasets.js';
import type { GeneratedDataset } from '../helpers/datasets.js';
import { it } from '../helpers/fixtures.js';
import { expectEveryRecordOnce, readBatchOutput } from '../helpers/output.js';
import { waitUntil } from '../helpers/wait-until.js';

const TOKEN = 'ping-test-token-7c1';
const SOURCE = '/apis/v1/namespaces/ml-batch/pingsources/nightly-scoring';
// The tick: 2026-11-23 02:00 UTC; the adapter sends up to 500 ms later.
const TICK_TIME = '2026-11-23T02:00:00.317Z';

let dir: string;
let output: string;
let prefix: string;
let client: Redis;
let producer: RunningService;
let dataset: GeneratedDataset;

it.beforeAll(async ({ workDir, redisClient, serviceEnv, fileServices }) => {
  dir = workDir;
  output = path.join(dir, 'out');
  // The partition the nightly run scores: named by the day before the tick.
  dataset = await writeJsonlDataset(path.join(dir, 'events-2026-11-22.jsonl'), 260, { bad: (line) => line % 97 === 0 });
  client = redisClient;
  const env = serviceEnv({
    CHUNK_SIZE: '100',
    API_TOKEN: TOKEN,
    CLOUDEVENTS_REQUIRE_TOKEN: 'false',
  });
  prefix = env.QUEUE_PREFIX;
  producer = await fileServices.start('producer', env);
  await fileServices.start('consumer', env);
});

/** `spec.data` of the PingSource in knative/pingsource-nightly.yaml, pointed at the test's files. */
const specData = (): string =>
  JSON.stringify({ datasetUrl: `${pathToFileURL(dir).toString()}/events-{{yesterday}}.jsonl`, labels: { team: 'risk' } });

function pingHeaders(id: string, time: string): Record<string, string> {
  return {
    'ce-specversion': '1.0',
    'ce-type': 'dev.knative.sources.ping',
    'ce-source': SOURCE,
    'ce-id': id,
    'ce-time': time,
    'content-type': 'application/json',
    traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
  };
}

async function postEvent(
  headers: Record<string, string>,
  body: string,
): Promise<{ status: number; json: Record<string, unknown>; headers: Headers }> {
  const res = await fetch(`${producer.url}/`, { method: 'POST', headers, body });
  return { status: res.status, json: (await res.json()) as Record<string, unknown>, headers: res.headers };
}

async function view(id: string): Promise<BatchView> {
  return (await (await fetch(`${producer.url}/v1/batches/${id}`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as BatchView;
}

const batchCount = (): Promise<number> => client.zcard(batchIndexKey(prefix));

describe('PingSource events on POST /', () => {
  it('a binary-mode ping starts a batch that completes; redeliveries and a second send of the tick do not start another', async () => {
    const id = randomUUID();
    const first = await postEvent(pingHeaders(id, TICK_TIME), specData());
    expect(first.status).toBe(202);
    expect(Object.keys(first.json).sort()).toEqual(['id', 'status']);
    expect(first.json.status).toBe('ingesting');
    expect([...first.headers.keys()].filter((h) => h.startsWith('ce-'))).toEqual([]);
    const batchId = first.json.id as string;

    // The adapter retrying the same event, and the same tick sent again under a new id.
    const again = await postEvent(pingHeaders(id, TICK_TIME), specData());
    const sameTick = await postEvent(pingHeaders(randomUUID(), '2026-11-23T02:00:00.912Z'), specData());
    expect(again).toMatchObject({ status: 202, json: { id: batchId } });
    expect(sameTick).toMatchObject({ status: 202, json: { id: batchId } });

    const done = await waitUntil(
      async () => {
        const v = await view(batchId);
        return v.status === 'completed' ? v : undefined;
      },
      { what: 'scheduled batch to complete' },
    );
    expect(done.schedule).toBe('nightly-scoring');
    expect(done.datasetUrl).toBe(pathToFileURL(dataset.path).toString());
    expect(done.labels).toEqual({ team: 'risk' });
    expectEveryRecordOnce(await readBatchOutput(output, batchId), dataset.expected, dataset.badLines);

    // Delivered again after completion: still the same batch, still one batch in all.
    expect((await postEvent(pingHeaders(id, TICK_TIME), specData())).json.id).toBe(batchId);
    expect(await batchCount()).toBe(1);
  });

  it('the next tick starts a new batch', async () => {
    const before = await batchCount();
    const next = await postEvent(pingHeaders(randomUUID(), '2026-11-23T02:01:00.044Z'), specData());
    expect(next.status).toBe(202);
    expect(await batchCount()).toBe(before + 1);
    await waitUntil(async () => (await view(next.json.id as string)).status === 'completed', { what: 'second batch' });
  });

  it('accepts structured mode', async () => {
    const source = '/apis/v1/namespaces/ml-batch/pingsources/hourly';
    const event = {
      specversion: '1.0',
      type: 'dev.knative.sources.ping',
      source,
      id: randomUUID(),
      time: '2026-11-23T03:00:00.120Z',
      datacontenttype: 'application/json',
      data: JSON.parse(specData()) as unknown,
    };
    const res = await postEvent({ 'content-type': 'application/cloudevents+json; charset=utf-8' }, JSON.stringify(event));
    expect(res.status).toBe(202);
    const done = await waitUntil(
      async () => {
        const v = await view(res.json.id as string);
        return v.status === 'completed' ? v : undefined;
      },
      { what: 'structured-mode batch' },
    );
    expect(done.schedule).toBe('hourly');
    expect(done.records.succeeded).toBe(dataset.expected.size);
  });

  it('refuses what is not a usable event with 400 and a code', async () => {
    const before = await batchCount();
    const plain = await postEvent({ 'content-type': 'application/json' }, specData());
    expect(plain).toMatchObject({ status: 400, json: { error: { code: 'CLOUDEVENT_INVALID' } } });
    const otherType = await postEvent({ ...pingHeaders(randomUUID(), TICK_TIME), 'ce-type': 'com.example.other' }, specData());
    expect(otherType).toMatchObject({ status: 400, json: { error: { code: 'VALIDATION_FAILED', field: 'type' } } });
    const badPlaceholder = JSON.stringify({ datasetUrl: 'file:///data/{{tomorrow}}.jsonl' });
    const template = await postEvent(pingHeaders(randomUUID(), '2026-11-24T02:00:00Z'), badPlaceholder);
    expect(template).toMatchObject({ status: 400, json: { error: { code: 'VALIDATION_FAILED', field: 'datasetUrl' } } });
    expect(await batchCount()).toBe(before);
  });

  it('keeps the bearer token on the batch API while CLOUDEVENTS_REQUIRE_TOKEN=false opens POST /, and requires it by default', async ({
    serviceEnv,
    services,
  }) => {
    expect((await fetch(`${producer.url}/v1/batches`, { method: 'POST', body: specData() })).status).toBe(401);
    const strict = await services.start('producer', serviceEnv({ API_TOKEN: TOKEN }));
    const res = await fetch(`${strict.url}/`, { method: 'POST', headers: pingHeaders(randomUUID(), TICK_TIME), body: specData() });
    expect(res.status).toBe(401);
  });
});
