/**
 * Fuzzing the producer's HTTP API over loopback with generated requests (fast-check,
 * bounded runs): well-formed HTTP with hostile methods, paths, headers and bodies, and raw
 * bytes that are barely HTTP at all. Never a 5xx, every 4xx a JSON error with a code, the
 * process never crashes, and the API token never reaches a log line.
 */
import http from 'node:http';
import net from 'node:net';
import fc from 'fast-check';
import { describe, expect } from 'vitest';
import { listen } from '../../src/shared/http/health-server.js';
import type { RunningService } from '../helpers/cli.js';
import { it } from '../helpers/fixtures.js';

const TOKEN = 'fuzz-token-Qx81-never-logged';

let producer: RunningService;
let data: http.Server;
let dataUrl: string;

it.beforeAll(async ({ serviceEnv, fileServices }) => {
  data = http.createServer((_req, res) => res.end('{"id":1,"features":[1]}\nnot json\n'));
  dataUrl = `http://127.0.0.1:${await listen(data, 0, '127.0.0.1')}/d.jsonl`;
  const env = serviceEnv({
    // The service's default schemes: http(s) datasets, as users send them.
    DATASET_ALLOWED_SCHEMES: undefined,
    DATASET_ALLOWED_CIDRS: '127.0.0.1',
    API_TOKEN: TOKEN,
    MAX_REQUEST_BYTES: '2048',
    LOG_LEVEL: 'debug',
  });
  producer = await fileServices.start('producer', env);
});

it.afterAll(() => {
  data?.closeAllConnections();
  data?.close();
});

interface Reply {
  status: number;
  contentType: string;
  body: string;
}

/** Printable ASCII: what a client library lets through as a header value. */
const headerText = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 60 });

interface FuzzRequest {
  method: string;
  path: string;
  auth: string | undefined;
  contentType: string | undefined;
  body: string;
}

/** Generated requests; built once the dataset server's URL is known. */
function requests(): fc.Arbitrary<FuzzRequest> {
  // Dataset URLs that never need DNS (the tests stay on loopback): the allowed server,
  // hostile addresses, and strings that are not http(s) URLs at all.
  const datasetUrl = fc.oneof(
    fc.constant(dataUrl),
    fc.constantFrom(
      'http://127.0.0.2/x',
      'http://[::1]/x',
      'http://169.254.169.254/',
      'http://localhost/x',
      'file:///etc/passwd',
      'gopher://127.0.0.1/',
    ),
    fc.string({ unit: 'binary', maxLength: 60 }).filter((s) => !/^\s*https?:/i.test(s)),
    fc.anything({ maxDepth: 1 }),
  );

  const anyValue = fc.oneof(fc.anything({ maxDepth: 2 }), fc.string({ unit: 'binary', maxLength: 40 }));
  const jsonBody = fc.record(
    {
      datasetUrl,
      format: fc.oneof(fc.constantFrom('jsonl', 'csv'), anyValue),
      model: fc.oneof(fc.constantFrom('sum', 'linear:x.json', 'linear:../../etc/passwd'), anyValue),
      chunkSize: fc.oneof(fc.integer(), fc.double(), anyValue),
      outputUrl: fc.oneof(fc.constantFrom('file:///etc', '../../x'), anyValue),
      labels: fc.oneof(fc.dictionary(fc.string({ maxLength: 10 }), anyValue, { maxKeys: 5 }), anyValue),
      idempotencyKey: fc.oneof(fc.string({ maxLength: 30 }), anyValue),
      extra: anyValue,
    },
    { requiredKeys: [] },
  );

  const body = fc.oneof(
    jsonBody.map((b) => JSON.stringify(b)),
    fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
    fc.string({ unit: 'binary', maxLength: 300 }),
    fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('latin1')),
    fc.constantFrom(
      '',
      '{',
      '{"datasetUrl":',
      '[]',
      'null',
      '{"__proto__":{"x":1}}',
      '{"datasetUrl":"a","datasetUrl":"b"}',
      ' '.repeat(3000),
    ),
  );

  // Near-valid submissions, so the generator also reaches acceptance and ingest.
  const nearValid = fc
    .record(
      {
        model: fc.constantFrom('sum', 'linear:x.json', 'sum:x'),
        chunkSize: fc.integer({ min: -1, max: 3 }),
        labels: fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 2 }),
      },
      { requiredKeys: [] },
    )
    .map((extra): FuzzRequest => ({
      method: 'POST',
      path: '/v1/batches',
      auth: `Bearer ${TOKEN}`,
      contentType: 'application/json',
      body: JSON.stringify({ datasetUrl: dataUrl, ...extra }),
    }));

  const anyRequest = fc.record({
    method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'TRACE', 'PROPFIND'),
    path: fc.oneof(
      fc.constantFrom(
        '/v1/batches',
        '/v1/batches/',
        '/',
        '/healthz',
        '/readyz',
        '/v1/batches/abc',
        '/v1/batches/../../etc/passwd',
        '/v1/batches/%00',
      ),
      fc.string({ unit: fc.constantFrom(...'abc/%.-_?#&=;:[]@!$()*+,~'.split('')), maxLength: 40 }).map((p) => `/v1/batches/${p}`),
      fc.webPath().map((p) => (p.startsWith('/') ? p : `/${p}`)),
    ),
    auth: fc.oneof(
      fc.constant(`Bearer ${TOKEN}`),
      fc.constant(undefined),
      headerText,
      headerText.map((t) => `Bearer ${t}`),
    ),
    contentType: fc.oneof(fc.constant('application/json'), fc.constant(undefined), headerText),
    body,
  });
  return fc.oneof({ arbitrary: anyRequest, weight: 5 }, { arbitrary: nearValid, weight: 1 });
}

function send(r: FuzzRequest): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const payload = r.method === 'GET' || r.method === 'HEAD' ? undefined : Buffer.from(r.body);
    const headers: http.OutgoingHttpHeaders = {};
    if (r.auth !== undefined) headers.authorization = r.auth;
    if (r.contentType !== undefined) headers['content-type'] = r.contentType;
    // Framed explicitly whatever the method (Node sends some methods' bodies unframed), on
    // a fresh connection each, so one request's leftovers cannot garble the next one.
    if (payload) headers['content-length'] = payload.length;
    const req = http.request(`${producer.url}${r.path}`, { method: r.method, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), body: text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** Writes raw bytes, half-closes, and reads whatever comes back (or nothing) within 3 s. */
function sendRaw(bytes: Buffer): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(producer.port, '127.0.0.1');
    let reply = '';
    const timer = setTimeout(() => socket.destroy(), 3000);
    socket.on('data', (d: Buffer) => (reply += d.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(reply);
    });
    socket.end(bytes);
  });
}

function expectJsonError(reply: Reply, what: string): void {
  expect(reply.status, what).toBeLessThan(500);
  if (reply.status >= 400 && reply.body !== '') {
    expect(reply.contentType, what).toContain('application/json');
    const parsed = JSON.parse(reply.body) as { error?: { code?: unknown } };
    expect(typeof parsed.error?.code, what).toBe('string');
  }
}

describe('producer API under fuzzing', () => {
  it('answers generated requests with no 5xx and JSON errors', async () => {
    const seen = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(requests(), async (r) => {
        const reply = await send(r);
        seen.set(reply.status, (seen.get(reply.status) ?? 0) + 1);
        expectJsonError(reply, `${r.method} ${r.path} ${JSON.stringify(r.body).slice(0, 200)}`);
      }),
      { numRuns: 400 },
    );
    // The generator reached both refusals and acceptances, or it tested little.
    expect(seen.get(401) ?? 0).toBeGreaterThan(0);
    expect(seen.get(400) ?? 0).toBeGreaterThan(0);
    expect(seen.get(202) ?? 0).toBeGreaterThan(0);
  });

  it('answers raw, barely-HTTP bytes with no 5xx and, when it answers, JSON', async () => {
    const valid = `POST /v1/batches HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${TOKEN}\r\ncontent-type: application/json\r\ncontent-length: 20\r\n\r\n{"datasetUrl":"x:y"}`;
    const mutated = fc
      .tuple(fc.nat(valid.length), fc.nat(30), fc.uint8Array({ maxLength: 40 }))
      .map(([at, drop, insert]) =>
        Buffer.concat([Buffer.from(valid.slice(0, at)), Buffer.from(insert), Buffer.from(valid.slice(at + drop))]),
      );
    const fixed = [
      Buffer.from('GET / HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n'),
      Buffer.from(`GET /v1/batches HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`),
      Buffer.from('POST /v1/batches HTTP/1.1\r\nhost: x\r\ncontent-length: -1\r\n\r\n'),
      Buffer.from('POST /v1/batches HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n'),
      Buffer.from('GET /\u0000 HTTP/1.1\r\n\r\n'),
      Buffer.from(valid.replace('host: x\r\n', '')), // HTTP/1.1 without Host
      Buffer.from('\r\n\r\n'),
    ];
    const raw = fc.oneof(
      mutated,
      fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
      fc.constantFrom(...fixed),
    );
    await fc.assert(
      fc.asyncProperty(raw, async (bytes) => {
        const reply = await sendRaw(bytes);
        for (const m of reply.matchAll(/HTTP\/1\.1 (\d{3})[^\r]*\r\n([\s\S]*?)\r\n\r\n/g)) {
          const status = Number(m[1]);
          expect(status, bytes.toString('latin1').slice(0, 200)).toBeLessThan(500);
          if (status >= 400) expect(m[2]?.toLowerCase(), 'error responses are JSON').toContain('content-type: application/json');
        }
      }),
      // The fixed cases first: every run tries them, whatever the seed.
      { numRuns: 150, examples: fixed.map((b): [Buffer] => [b]) },
    );
  });

  it('is still healthy afterwards, logged no unexpected error, and never logged the token', async () => {
    expect(producer.process.exitCode).toBeNull();
    expect((await fetch(`${producer.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${producer.url}/readyz`)).status).toBe(200);
    expect(producer.logs.find((l) => l.msg === 'request failed')).toBeUndefined();
    expect(producer.logs.lines.filter((l) => l.level >= 60)).toEqual([]);
    expect(producer.logs.text()).not.toContain(TOKEN);
  });
});
