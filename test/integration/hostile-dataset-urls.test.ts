/**
 * SSRF: hostile dataset URLs against a real producer process. A trap listener on `::`
 * (every local address: all of 127/8, ::1 and this machine's own interfaces) proves that
 * nothing connected. Addresses that cannot be listened on here (169.254.169.254, 10/8, ...)
 * are refused with a 400 at submission, so no batch, hence no ingest, ever exists for them:
 * the test checks Redis holds no batch at all.
 *
 * A "public" server is simulated on 127.0.0.2, allowed by DATASET_ALLOWED_CIDRS; its
 * redirects to refused addresses are accepted at submission (the first hop is allowed),
 * refused at connect time, and fail the batch with DATASET_URL_REFUSED.
 */
import type { LookupAddress } from 'node:dns';
import http from 'node:http';
import type { LookupFunction } from 'node:net';
import type { Redis } from 'ioredis';
import { describe, expect } from 'vitest';
import { checkDatasetAddress } from '../../src/shared/io/address-policy.js';
import type { Resolver } from '../../src/shared/io/address-policy.js';
import { openDataset } from '../../src/shared/io/sources/open-dataset.js';
import { DatasetRefusedError } from '../../src/shared/errors.js';
import { listen } from '../../src/shared/http/health-server.js';
import type { BatchView } from '../../src/shared/types.js';
import { callApi, getBatch } from '../helpers/batches.js';
import type { RunningService } from '../helpers/cli.js';
import { it } from '../helpers/fixtures.js';
import { ownAddresses, startTrap } from '../helpers/trap-server.js';
import type { TrapServer } from '../helpers/trap-server.js';
import { waitUntil } from '../helpers/wait-until.js';

const DATA = '{"id":1,"features":[1,2]}\n{"id":2,"features":[3,4]}\n';

let redis: Redis;
let producer: RunningService;
let trap: TrapServer;
let publicServer: http.Server;
let publicBase: string;
let prefix: string;
const hits = new Map<string, number>();
let redirects: Record<string, string>;

const bracket = (address: string): string => (address.includes(':') ? `[${address}]` : address);

it.beforeAll(async ({ redisClient, serviceEnv, fileServices }) => {
  trap = await startTrap('::');
  const T = trap.port;
  redirects = {
    'to-loopback': `http://127.0.0.1:${T}/d.jsonl`,
    'to-loopback-decimal': `http://2130706433:${T}/d.jsonl`,
    'to-loopback-other': `http://127.0.0.9:${T}/d.jsonl`,
    'to-ipv6-loopback': `http://[::1]:${T}/d.jsonl`,
    'to-ipv4-mapped': `http://[::ffff:127.0.0.1]:${T}/d.jsonl`,
    'to-localhost': `http://localhost:${T}/d.jsonl`,
    'to-unspecified': `http://0.0.0.0:${T}/d.jsonl`,
    'to-metadata': 'http://169.254.169.254/latest/meta-data/iam/security-credentials/',
    'to-metadata-v6': 'http://[fd00:ec2::254]/latest/meta-data/',
    'to-private': 'http://10.0.0.1/d.jsonl',
    'to-file': 'file:///etc/passwd',
    'to-gopher': `gopher://127.0.0.1:${T}/_INFO`,
    'to-https-loopback': `https://127.0.0.1:${T}/d.jsonl`,
    'two-hops': '/r/to-loopback',
    ...Object.fromEntries(ownAddresses().map((a, i) => [`to-own-${i}`, `http://${bracket(a)}:${T}/d.jsonl`])),
  };
  publicServer = http.createServer((req, res) => {
    const url = req.url ?? '/';
    hits.set(url, (hits.get(url) ?? 0) + 1);
    const name = url.startsWith('/r/') ? url.slice(3) : undefined;
    const location = name === undefined ? undefined : redirects[name];
    if (location) res.writeHead(302, { location }).end();
    else if (url.split('?')[0] === '/d.jsonl') res.end(DATA);
    else res.writeHead(404).end();
  });
  publicBase = `http://127.0.0.2:${await listen(publicServer, 0, '127.0.0.2')}`;

  redis = redisClient;
  // The service's default schemes (http, https, s3): the test is about which addresses it reaches.
  const env = serviceEnv({ DATASET_ALLOWED_SCHEMES: undefined, DATASET_ALLOWED_CIDRS: '127.0.0.2/32' });
  prefix = env.QUEUE_PREFIX;
  producer = await fileServices.start('producer', env);
});

it.afterAll(async () => {
  await trap?.close();
  publicServer?.closeAllConnections();
  publicServer?.close();
});

async function submit(datasetUrl: string): Promise<{ status: number; body: { id?: string; error?: { code: string; field?: string } } }> {
  const { status, json } = await callApi<{ id?: string }>(`${producer.url}/v1/batches`, 'POST', { datasetUrl });
  return { status, body: json };
}

const batch = (id: string): Promise<BatchView> => getBatch(producer.url, id);
const batchKeys = (): Promise<string[]> => redis.keys(`${prefix}:batch:*`);

describe('hostile dataset URLs', () => {
  it('are refused with 400 naming datasetUrl, before anything connects to them', async () => {
    const T = trap.port;
    const hostile = [
      // loopback, in every spelling
      `http://127.0.0.1:${T}/d.jsonl`,
      `http://127.0.0.9:${T}/d.jsonl`,
      `http://0x7f000001:${T}/d.jsonl`,
      `http://2130706433:${T}/d.jsonl`,
      `http://0177.0.0.1:${T}/d.jsonl`,
      `http://127.1:${T}/d.jsonl`,
      `http://%31%32%37.0.0.1:${T}/d.jsonl`,
      `http://１２７.０.０.１:${T}/d.jsonl`,
      `http://[::1]:${T}/d.jsonl`,
      `http://[::ffff:127.0.0.1]:${T}/d.jsonl`,
      `http://[::ffff:7f00:1]:${T}/d.jsonl`,
      `http://0.0.0.0:${T}/d.jsonl`,
      `http://0:${T}/d.jsonl`,
      `http://[::]:${T}/d.jsonl`,
      `http://localhost:${T}/d.jsonl`,
      `http://LocalHost.:${T}/d.jsonl`,
      `http://api.localhost:${T}/d.jsonl`,
      `http://user:pw@127.0.0.1:${T}/d.jsonl`,
      `HTTPS://127.0.0.1:${T}/d.jsonl`,
      // cloud metadata services
      'http://169.254.169.254/latest/meta-data/',
      'http://2852039166/latest/meta-data/',
      'http://[fd00:ec2::254]/latest/meta-data/',
      'http://[::ffff:169.254.169.254]/latest/meta-data/',
      'http://metadata.google.internal/computeMetadata/v1/',
      'http://metadata/computeMetadata/v1/',
      'http://100.100.100.200/latest/meta-data/',
      'http://192.0.0.192/opc/v2/instance/',
      // private networks, IPv6 ULA and link-local, this machine's own interfaces
      'http://10.0.0.1/d.jsonl',
      'http://172.16.0.1/d.jsonl',
      'http://192.168.0.1/d.jsonl',
      'http://[fc00::1]/d.jsonl',
      'http://[fe80::1]/d.jsonl',
      'http://[64:ff9b::a9fe:a9fe]/d.jsonl',
      ...ownAddresses().map((a) => `http://${bracket(a)}:${T}/d.jsonl`),
      // schemes other than http(s)
      'file:///etc/passwd',
      `ftp://127.0.0.1:${T}/d.jsonl`,
      `gopher://127.0.0.1:${T}/_INFO`,
      `dict://127.0.0.1:${T}/info`,
      `ldap://127.0.0.1:${T}/`,
      `redis://127.0.0.1:${T}/`,
      'data:text/plain,{"id":1,"features":[1]}',
      'javascript:alert(1)',
      `jar:http://127.0.0.1:${T}/x.jar!/d.jsonl`,
    ];
    const answers: Record<string, string> = {};
    for (const url of hostile) {
      const { status, body } = await submit(url);
      answers[url] = `${status} ${body.error?.code ?? ''} ${body.error?.field ?? ''}`;
    }
    expect(answers).toEqual(Object.fromEntries(hostile.map((url) => [url, '400 DATASET_URL_REFUSED datasetUrl'])));
    expect(trap.connections).toEqual([]);
    expect(await batchKeys()).toEqual([]);
  });

  it('accepts the allow-listed server (the refusals above are not blanket), and shows nobody its URL secrets', async () => {
    const withSecrets = `${publicBase.replace('http://', 'http://reader:Pa55-secret@')}/d.jsonl?X-Amz-Signature=SIG-7731`;
    const { status, body } = await submit(withSecrets);
    expect(status).toBe(202);
    const view = await waitUntil(async () => {
      const v = await batch(body.id ?? '');
      return v.status === 'running' ? v : undefined;
    });
    expect(view.records.total).toBe(2);
    // Fetched with its query (twice: the planner's ranged probe, which this server ignores, then the streamed read)...
    expect(hits.get('/d.jsonl?X-Amz-Signature=SIG-7731')).toBe(2);
    for (const text of [JSON.stringify(view), producer.logs.text()]) {
      expect(text).not.toContain('Pa55-secret'); // ...which neither the API nor the logs show
      expect(text).not.toContain('SIG-7731');
    }
  });

  it('never connects to a refused address a redirect names; the batch fails with DATASET_URL_REFUSED', async () => {
    const names = Object.keys(redirects);
    const outcomes: Record<string, string> = {};
    for (const name of names) {
      const { status, body } = await submit(`${publicBase}/r/${name}`);
      expect(status, name).toBe(202); // the first hop is the allowed server
      const view = await waitUntil(async () => {
        const v = await batch(body.id ?? '');
        return v.status === 'failed' || v.status === 'running' ? v : undefined;
      });
      outcomes[name] = `${view.status} ${view.errorCode ?? ''}`;
      expect(hits.get(`/r/${name}`), `${name} reached the allowed server first`).toBeGreaterThanOrEqual(1);
    }
    expect(outcomes).toEqual(Object.fromEntries(names.map((n) => [n, 'failed DATASET_URL_REFUSED'])));
    expect(trap.connections).toEqual([]);
  });
});

describe('DNS rebinding (a resolver whose answer changes between calls stands in for DNS)', () => {
  it('is caught at connect time: the name passes the submission check, then resolves to loopback and is refused there', async () => {
    const port = Number(new URL(publicBase).port);
    // A trap on the real loopback address, same port as the allowed server.
    const loopbackTrap = await startTrap('127.0.0.1', port);
    try {
      let calls = 0;
      const answer = (): string => (calls++ === 0 ? '127.0.0.2' : '127.0.0.1');
      const resolver: Resolver = () => Promise.resolve([{ address: answer(), family: 4 } satisfies LookupAddress]);
      const lookup = ((_host: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
        const address = answer();
        if (options.all) callback(null, [{ address, family: 4 }]);
        else callback(null, address, 4);
      }) as unknown as LookupFunction;
      const url = new URL(`http://rebinding.test:${port}/d.jsonl`);
      const policy = { allowPrivateNetworks: false, allowedCidrs: ['127.0.0.2/32'] };

      await expect(checkDatasetAddress(url, policy, resolver)).resolves.toBeUndefined();
      const open = openDataset(url, {
        signal: new AbortController().signal,
        idleTimeoutMs: 5000,
        allowPrivateNetworks: false,
        allowedCidrs: policy.allowedCidrs,
        allowedSchemes: ['http', 'https'],
        maxBytes: 1_000_000,
        lookup,
      });
      await expect(open).rejects.toBeInstanceOf(DatasetRefusedError);
      expect(calls).toBe(2);
      expect(loopbackTrap.connections).toEqual([]);

      // The same seam with a stable answer reads the dataset: the refusal above is the rebinding.
      const stable = ((_h: string, o: { all?: boolean }, cb: (...args: unknown[]) => void) =>
        o.all ? cb(null, [{ address: '127.0.0.2', family: 4 }]) : cb(null, '127.0.0.2', 4)) as unknown as LookupFunction;
      let text = '';
      const stream = await openDataset(url, {
        signal: new AbortController().signal,
        idleTimeoutMs: 5000,
        allowPrivateNetworks: false,
        allowedCidrs: policy.allowedCidrs,
        allowedSchemes: ['http'],
        maxBytes: 1_000_000,
        lookup: stable,
      });
      for await (const chunk of stream) text += (chunk as Buffer).toString();
      expect(text).toBe(DATA);
    } finally {
      await loopbackTrap.close();
    }
  });
});
