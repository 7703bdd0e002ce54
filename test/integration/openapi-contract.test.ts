/**
 * The producer's `/openapi.json` against the real producer: the document is valid OpenAPI 3.1,
 * and every route, driven over HTTP through a real producer, consumer and redis-server (success,
 * 400, 401, 404, 405, 409, 413, 429, 431, 503), answers as the document says: a listed status,
 * the documented headers, a body that validates (Ajv, draft 2020-12). The run ends by comparing
 * the answers seen with the answers documented, so a documented answer no test reaches is named.
 */
import http from 'node:http';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen } from '../../src/shared/http/health-server.js';
import { startService } from '../helpers/cli.js';
import type { RunningService } from '../helpers/cli.js';
import { OpenApiValidator, rawRequest } from '../helpers/openapi.js';
import type { Answer } from '../helpers/openapi.js';
import { freshPrefix, startTestRedis } from '../helpers/redis.js';
import type { LocalRedis } from '../helpers/redis.js';
import { waitUntil } from '../helpers/wait-until.js';

const TOKEN = 'contract-token-77c1';
const AUTH = { authorization: `Bearer ${TOKEN}` };
/** Answers that no test here can provoke without breaking the producer itself. */
const NOT_DRIVEN = (entry: string): boolean => entry.endsWith(' 500');

let dir: string;
let redis: LocalRedis;
let producer: RunningService;
let consumer: RunningService | undefined;
let env: Record<string, string>;
let api: OpenApiValidator;
let dataset: string;
let drill: string;
const held: http.ServerResponse[] = [];
let holdServer: http.Server;
let holdUrl: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'bi-openapi-'));
  dataset = pathToFileURL(path.join(dir, 'three.jsonl')).toString();
  await writeFile(new URL(dataset), '{"id":1,"features":[1,2]}\n{"id":2,"features":[3]}\n{"id":3,"features":[4]}\n');
  drill = path.join(dir, 'drill.json');
  await writeFile(drill, JSON.stringify({ fail: true, message: 'model server down' }));
  await mkdir(path.join(dir, 'out'));
  await writeFile(path.join(dir, 'out', 'a-file'), '');
  // A dataset server that never answers until the end: its ingest holds the one ingest slot.
  holdServer = http.createServer((_req, res) => void held.push(res));
  holdUrl = `http://127.0.0.1:${await listen(holdServer, 0, '127.0.0.1')}/held.jsonl`;
  redis = await startTestRedis();
  env = {
    REDIS_URL: redis.url,
    QUEUE_PREFIX: freshPrefix('openapi'),
    OUTPUT_URL: pathToFileURL(path.join(dir, 'out')).toString(),
    DATASET_ALLOWED_SCHEMES: 'file,http',
    DATASET_ALLOWED_CIDRS: '127.0.0.1/32',
    MODEL_ROOT: dir,
    API_TOKEN: TOKEN,
    MAX_REQUEST_BYTES: '1024',
    MAX_CONCURRENT_INGESTS: '1',
    CHUNK_SIZE: '2',
    CHUNK_ATTEMPTS: '1',
  };
  producer = await startService('producer', env);
  api = new OpenApiValidator((await (await fetch(`${producer.url}/openapi.json`)).json()) as Record<string, unknown>);
});
afterAll(async () => {
  for (const res of held) res.destroy();
  holdServer?.close();
  await consumer?.stop('SIGKILL');
  await producer?.stop('SIGKILL');
  await redis?.stop();
});

interface CallOptions {
  body?: string;
  headers?: Record<string, string>;
  auth?: boolean;
}
async function call(method: string, route: string, { body, headers, auth = true }: CallOptions = {}): Promise<Answer> {
  const json: Record<string, string> = body === undefined ? {} : { 'content-type': 'application/json' };
  const res = await fetch(`${producer.url}${route}`, {
    method,
    headers: { ...(auth ? AUTH : {}), ...json, ...headers },
    body: body ?? null,
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as unknown) : undefined };
}

const body = (answer: Answer): Record<string, unknown> => answer.body as Record<string, unknown>;
const errorOf = (answer: Answer): { code: string; field?: string } => body(answer).error as { code: string; field?: string };

/** Polls the batch until it has `wanted` status; every answer on the way must match the document (fails at once if not). */
async function waitForStatus(id: string, wanted: string): Promise<Answer> {
  let mismatch: Error | undefined;
  const answer = await waitUntil(
    async () => {
      const a = await call('GET', `/v1/batches/${id}`);
      try {
        api.check('GET', '/v1/batches/{id}', a);
      } catch (err) {
        mismatch = err as Error;
        return a;
      }
      return (a.body as { status: string }).status === wanted ? a : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 100, what: `batch ${id} ${wanted}` },
  );
  if (mismatch) throw mismatch;
  return answer;
}
/** Submits and checks the answer; the one ingest slot may still be held by the last ingest for a moment. */
async function submit(request: Record<string, unknown>): Promise<string> {
  const answer = await waitUntil(
    async () => {
      const a = await call('POST', '/v1/batches', { body: JSON.stringify(request) });
      return a.status === 429 ? undefined : a;
    },
    { timeoutMs: 10_000, intervalMs: 100, what: 'an ingest slot' },
  );
  api.check('POST', '/v1/batches', answer);
  expect(answer.status, JSON.stringify(answer.body)).toBe(202);
  expect(answer.headers.get('location')).toBe(`/v1/batches/${String(body(answer).id)}`);
  return String(body(answer).id);
}

describe('the producer API against its OpenAPI document', () => {
  it('serves a valid OpenAPI 3.1 document at /openapi.json, without the token', async () => {
    const answer = await call('GET', '/openapi.json', { auth: false });
    expect(answer.status).toBe(200);
    const doc = body(answer);
    expect(doc.openapi).toBe('3.1.0');
    expect(OpenApiValidator.specErrors(doc)).toBe('');
    api.check('GET', '/openapi.json', answer);
    api.check('GET', '/healthz', await call('GET', '/healthz', { auth: false }));
    api.check('GET', '/readyz', await call('GET', '/readyz', { auth: false }));
  });

  it('answers 401 with WWW-Authenticate on every protected route without the token', async () => {
    const cases: [string, string, string][] = [
      ['POST', '/v1/batches', '/v1/batches'],
      ['GET', '/v1/batches/some-id', '/v1/batches/{id}'],
      ['DELETE', '/v1/batches/some-id', '/v1/batches/{id}'],
      ['POST', '/v1/batches/some-id/retry', '/v1/batches/{id}/retry'],
      ['POST', '/', '/'],
    ];
    for (const [method, url, route] of cases) {
      const answer = await call(method, url, {
        auth: false,
        ...(method === 'POST' ? { body: JSON.stringify({ datasetUrl: dataset }) } : {}),
      });
      expect(answer.status, `${method} ${url}`).toBe(401);
      expect(answer.headers.get('www-authenticate')).toBe('Bearer');
      api.check(method, route, answer);
    }
  });

  it('answers 400 naming the field, 413 over MAX_REQUEST_BYTES, and the HTTP layer refusals', async () => {
    const refusals: [string, string, string][] = [
      ['{not json', 'body', 'VALIDATION_FAILED'],
      [JSON.stringify({ datasetUrl: dataset, colour: 'red' }), 'colour', 'VALIDATION_FAILED'],
      [JSON.stringify({ datasetUrl: 'gopher://x/y' }), 'datasetUrl', 'DATASET_URL_REFUSED'],
      [JSON.stringify({ datasetUrl: 'http://169.254.169.254/latest' }), 'datasetUrl', 'DATASET_URL_REFUSED'],
      [JSON.stringify({ datasetUrl: dataset, labels: { __x: 'y' } }), 'labels.__x', 'VALIDATION_FAILED'],
      [JSON.stringify({ datasetUrl: dataset, outputUrl: `${env.OUTPUT_URL}/a-file/below` }), 'outputUrl', 'OUTPUT_NOT_WRITABLE'],
    ];
    for (const [text, field, code] of refusals) {
      const answer = await call('POST', '/v1/batches', { body: text });
      api.check('POST', '/v1/batches', answer);
      expect(errorOf(answer), text).toMatchObject({ code, field });
    }
    const big = JSON.stringify({ datasetUrl: dataset, idempotencyKey: 'k'.repeat(200), labels: { note: 'x'.repeat(1000) } });
    for (const route of ['/v1/batches', '/']) {
      const answer = await call('POST', route, { body: big });
      expect(answer.status).toBe(413);
      api.check('POST', route, answer);
    }
    const noHost = await rawRequest(producer.port, 'GET /v1/batches/x HTTP/1.1\r\nconnection: close\r\n\r\n');
    expect(errorOf(noHost).code).toBe('BAD_REQUEST');
    api.check('GET', '/v1/batches/{id}', noHost, 'HttpLayerRefusal');
    const hugeHeader = await rawRequest(producer.port, `GET /healthz HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(hugeHeader.status).toBe(431);
    api.check('GET', '/healthz', hugeHeader, 'HttpLayerRefusal');
  });

  it('answers 404 for unknown routes and batches, 405 with Allow for a wrong method', async () => {
    api.check('GET', '/nope', await call('GET', '/nope'), 'NotFound');
    api.check('GET', '/v1/batches/{id}', await call('GET', '/v1/batches/not.an.id'), 'NotFound');
    for (const [method, url, route] of [
      ['GET', '/v1/batches/unknown', '/v1/batches/{id}'],
      ['DELETE', '/v1/batches/unknown', '/v1/batches/{id}'],
      ['POST', '/v1/batches/unknown/retry', '/v1/batches/{id}/retry'],
    ] as const) {
      const answer = await call(method, url);
      expect(answer.status).toBe(404);
      api.check(method, route, answer);
    }
    const wrong = await call('PUT', '/v1/batches');
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('POST');
    api.check('PUT', '/v1/batches', wrong, 'MethodNotAllowed');
  });

  it('submits, shows and cancels a batch; a finished batch refuses cancel and retry with 409', async () => {
    const id = await submit({ datasetUrl: dataset, labels: { team: 'docs' }, idempotencyKey: 'contract-1' });
    expect(await submit({ datasetUrl: dataset, idempotencyKey: 'contract-1' })).toBe(id);
    const running = await waitForStatus(id, 'running'); // no consumer yet: its chunks wait
    expect(body(running).chunks).toMatchObject({ total: 2, enqueued: 2 });
    const cancelled = await call('DELETE', `/v1/batches/${id}`);
    api.check('DELETE', '/v1/batches/{id}', cancelled);
    expect(body(cancelled)).toMatchObject({ status: 'cancelled', removedChunks: 2 });
    const again = await call('DELETE', `/v1/batches/${id}`);
    api.check('DELETE', '/v1/batches/{id}', again);
    expect(errorOf(again).code).toBe('BATCH_FINISHED');
    const retry = await call('POST', `/v1/batches/${id}/retry`);
    api.check('POST', '/v1/batches/{id}/retry', retry);
    expect(errorOf(retry).code).toBe('BATCH_NOT_RETRYABLE');
    await waitForStatus(id, 'cancelled');
  });

  it('takes PingSource CloudEvents in binary and structured mode; refuses what is not one', async () => {
    const data = JSON.stringify({ datasetUrl: dataset });
    const ce = {
      'ce-specversion': '1.0',
      'ce-type': 'dev.knative.sources.ping',
      'ce-source': '/apis/v1/namespaces/ns/pingsources/nightly',
    };
    const binary = { ...ce, 'ce-id': 'tick-1', 'ce-time': '2026-12-02T02:00:00Z' };
    const first = await call('POST', '/', { body: data, headers: binary });
    api.check('POST', '/', first);
    expect(first.status).toBe(202);
    expect(first.headers.get('ce-id')).toBeNull();
    const replay = await call('POST', '/', { body: data, headers: binary });
    expect(body(replay).id).toBe(body(first).id);
    const structured = JSON.stringify({
      specversion: '1.0',
      type: ce['ce-type'],
      source: '/apis/v1/namespaces/ns/pingsources/hourly',
      id: 'tick-2',
      data: { datasetUrl: dataset },
    });
    const second = await call('POST', '/', { body: structured, headers: { 'content-type': 'application/cloudevents+json' } });
    api.check('POST', '/', second);
    expect(second.status).toBe(202);
    const notAnEvent = await call('POST', '/', { body: data });
    api.check('POST', '/', notAnEvent);
    expect(errorOf(notAnEvent).code).toBe('CLOUDEVENT_INVALID');
    const otherType = await call('POST', '/', { body: data, headers: { ...binary, 'ce-type': 'com.example.other', 'ce-id': 'x' } });
    api.check('POST', '/', otherType);
    expect(errorOf(otherType)).toMatchObject({ code: 'VALIDATION_FAILED', field: 'type' });
    for (const id of [body(first).id, body(second).id]) expect((await call('DELETE', `/v1/batches/${String(id)}`)).status).toBe(200);
  });

  it('shows a failed batch, retries its failed chunks (202), and shows it completed', async () => {
    consumer = await startService('consumer', env);
    const id = await submit({ datasetUrl: dataset, model: 'drill:drill.json' });
    const failed = body(await waitForStatus(id, 'failed'));
    expect(failed.failedChunks).toEqual([0, 1]);
    expect(failed.error).toMatchObject({ code: 'CHUNK_FAILED', attempts: 1 });
    await writeFile(drill, '{}');
    const retry = await call('POST', `/v1/batches/${id}/retry`);
    api.check('POST', '/v1/batches/{id}/retry', retry);
    expect(body(retry)).toMatchObject({ status: 'running', retried: [0, 1], unavailable: [] });
    const completed = body(await waitForStatus(id, 'completed'));
    expect(completed.records).toMatchObject({ total: 3, succeeded: 3, failed: 0 });
    const head = await fetch(`${producer.url}/v1/batches/${id}`, { method: 'HEAD', headers: AUTH });
    expect(head.status).toBe(200);
  });

  it('sheds a submission with 429 and Retry-After while MAX_CONCURRENT_INGESTS datasets are read', async () => {
    const id = await submit({ datasetUrl: holdUrl });
    await waitUntil(() => held.length > 0, { what: 'the held dataset request' });
    const ingesting = body(await waitForStatus(id, 'ingesting'));
    expect(ingesting).toMatchObject({ status: 'ingesting', records: { total: null } });
    const shed = await call('POST', '/v1/batches', { body: JSON.stringify({ datasetUrl: dataset }) });
    api.check('POST', '/v1/batches', shed);
    expect(shed.status).toBe(429);
    const cancelled = await call('DELETE', `/v1/batches/${id}`);
    api.check('DELETE', '/v1/batches/{id}', cancelled);
    expect(cancelled.status).toBe(200);
  });

  it('answers /readyz 503 while Redis is down', async () => {
    await redis.stop();
    const answer = await waitUntil(
      async () => {
        const a = await call('GET', '/readyz', { auth: false });
        return a.status === 503 ? a : undefined;
      },
      { what: 'readyz 503' },
    );
    api.check('GET', '/readyz', answer);
  });

  it('has seen every answer the document lists but the 500s', () => {
    const missing = api.documented().filter((entry) => !api.seen.has(entry) && !NOT_DRIVEN(entry));
    expect(missing).toEqual([]);
  });
});
