/** The producer's HTTP API over real HTTP: validation, 404s, auth, idempotency, health. */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect } from 'vitest';
import type { RunningService } from '../helpers/cli.js';
import { it } from '../helpers/fixtures.js';

let producer: RunningService;
let dataset: string;
const TOKEN = 'test-token-3f9a';

it.beforeAll(async ({ workDir, serviceEnv, fileServices }) => {
  dataset = pathToFileURL(path.join(workDir, 'd.jsonl')).toString();
  await writeFile(new URL(dataset), '{"id":1,"features":[1]}\n');
  producer = await fileServices.start('producer', serviceEnv({ DATASET_ALLOWED_SCHEMES: 'file,https', API_TOKEN: TOKEN }));
});

const auth = { authorization: `Bearer ${TOKEN}` };

async function post(
  body: string,
  headers: Record<string, string> = auth,
): Promise<{ status: number; json: { error?: { code: string; field?: string } } & Record<string, unknown> }> {
  const res = await fetch(`${producer.url}/v1/batches`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  return { status: res.status, json: (await res.json()) as never };
}

describe('producer API', () => {
  it('answers 400 with a JSON error naming the field', async () => {
    const cases: [string, string, string][] = [
      ['{"datasetUrl": 5}', 'datasetUrl', 'VALIDATION_FAILED'],
      ['{"datasetUrl": "gopher://x/y"}', 'datasetUrl', 'DATASET_URL_REFUSED'],
      [`{"datasetUrl": "${dataset}", "chunkSize": -1}`, 'chunkSize', 'VALIDATION_FAILED'],
      [`{"datasetUrl": "${dataset}", "model": "nope"}`, 'model', 'VALIDATION_FAILED'],
      ['{not json', 'body', 'VALIDATION_FAILED'],
    ];
    for (const [body, field, code] of cases) {
      const { status, json } = await post(body);
      expect(status, body).toBe(400);
      expect(json.error?.field, body).toBe(field);
      expect(json.error?.code, body).toBe(code);
    }
  });

  it('requires the bearer token when API_TOKEN is set, and never logs it', async () => {
    expect((await post(`{"datasetUrl": "${dataset}"}`, {})).status).toBe(401);
    expect((await post(`{"datasetUrl": "${dataset}"}`, { authorization: 'Bearer wrong' })).status).toBe(401);
    expect((await fetch(`${producer.url}/v1/batches/x`)).status).toBe(401);
    expect(producer.logs.text()).not.toContain(TOKEN);
  });

  it('answers 404 for an unknown batch and for unknown routes, 405 for a wrong method', async () => {
    expect((await fetch(`${producer.url}/v1/batches/does-not-exist`, { headers: auth })).status).toBe(404);
    expect((await fetch(`${producer.url}/nope`, { headers: auth })).status).toBe(404);
    const wrong = await fetch(`${producer.url}/v1/batches`, { method: 'PUT', headers: auth });
    expect(wrong.status).toBe(405);
    // RFC 9110 §15.5.6: a 405 says which methods the route takes.
    expect(wrong.headers.get('allow')).toBe('POST');
    const wrongOnBatch = await fetch(`${producer.url}/v1/batches/some-id`, { method: 'PUT', headers: auth });
    expect(wrongOnBatch.headers.get('allow')).toBe('GET, HEAD, DELETE');
  });

  it('answers HEAD on a GET route like GET, without a body', async () => {
    const created = await post(JSON.stringify({ datasetUrl: dataset }));
    const url = `${producer.url}/v1/batches/${String(created.json.id)}`;
    const get = await fetch(url, { headers: auth });
    const head = await fetch(url, { method: 'HEAD', headers: auth });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toBe(get.headers.get('content-type'));
    expect(await head.text()).toBe('');
    expect((await fetch(`${producer.url}/v1/batches/does-not-exist`, { method: 'HEAD', headers: auth })).status).toBe(404);
    expect((await fetch(url, { method: 'HEAD' })).status).toBe(401);
    // Only GET routes: HEAD on a POST-only route is still a wrong method.
    expect((await fetch(`${producer.url}/v1/batches`, { method: 'HEAD', headers: auth })).status).toBe(405);
  });

  it('refuses a body over the size limit with 413', async () => {
    const { status, json } = await post(JSON.stringify({ datasetUrl: dataset, labels: { x: 'y'.repeat(100_000) } }));
    expect(status).toBe(413);
    expect(json.error?.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it("answers a 5 MB body with a 413 that Node's fetch can read, declared or streamed, and keeps serving", async () => {
    const big = JSON.stringify({ datasetUrl: dataset, labels: { x: 'y'.repeat(5 * 1024 * 1024) } });
    // Declared length: refused before reading; the rest of the body is drained, not cut.
    const declared = await post(big);
    expect(declared).toMatchObject({ status: 413, json: { error: { code: 'PAYLOAD_TOO_LARGE' } } });
    // No length (chunked): refused once the limit is crossed.
    const pieces = Array.from({ length: 80 }, () => new TextEncoder().encode('y'.repeat(64 * 1024)));
    const streamed = await fetch(`${producer.url}/v1/batches`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth },
      body: new ReadableStream({
        pull(controller) {
          const piece = pieces.shift();
          if (piece) controller.enqueue(piece);
          else controller.close();
        },
      }),
      duplex: 'half',
    });
    expect(streamed.status).toBe(413);
    expect(await streamed.json()).toMatchObject({ error: { code: 'PAYLOAD_TOO_LARGE' } });
    expect((await post(JSON.stringify({ datasetUrl: dataset }))).status).toBe(202);
  });

  it('makes one batch for one idempotency key', async () => {
    const body = JSON.stringify({ datasetUrl: dataset, idempotencyKey: 'nightly-2026-11-23' });
    const first = await post(body);
    const second = await post(body);
    expect(first.status).toBe(202);
    expect(second.status).toBe(202);
    expect(second.json.id).toBe(first.json.id);
  });

  it('serves /healthz and /readyz without a token', async () => {
    expect((await fetch(`${producer.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${producer.url}/readyz`)).status).toBe(200);
  });
});
