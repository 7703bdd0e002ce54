import http from 'node:http';
import https from 'node:https';
import { RequestFilteringHttpAgent, RequestFilteringHttpsAgent } from 'request-filtering-agent';
import { DatasetError, DatasetRefusedError } from '../../errors.js';
import { checkDatasetAddress } from '../address-policy.js';
import type { DatasetSource, OpenedDataset, OpenOptions, ReadOptions, SourceStat } from './dataset-source.js';
import { openResumable, statHttp } from './http-resume.js';
import type { HttpResponse } from './http-resume.js';

const MAX_REDIRECTS = 5;

/**
 * The agent's allow-list. Single addresses (`/32`, `/128`) are passed as plain IPs, which it
 * compares as strings; it matches a CIDR against addresses of the other family with a
 * console warning, so plain IPs keep the common case (one test or storage host) quiet.
 */
function agentAllowList(allowedCidrs: readonly string[] = []): string[] {
  return allowedCidrs.map((entry) =>
    entry.replace(/^([\d.]+)\/32$|^([0-9a-f:.]+)\/128$/i, (_m, v4?: string, v6?: string) => v4 ?? v6 ?? entry),
  );
}

/**
 * Agents that check the resolved address of every connection (after DNS, on every
 * redirect hop), so neither DNS rebinding nor a redirect to 169.254.169.254 gets through.
 */
function agentFor(url: URL, options: OpenOptions): http.Agent {
  const agentOptions = {
    allowPrivateIPAddress: options.allowPrivateNetworks,
    allowMetaIPAddress: options.allowPrivateNetworks,
    allowIPAddressList: agentAllowList(options.allowedCidrs),
    keepAlive: false,
  };
  return url.protocol === 'https:' ? new RequestFilteringHttpsAgent(agentOptions) : new RequestFilteringHttpAgent(agentOptions);
}

function isBlockedByAgent(err: unknown): boolean {
  // request-filtering-agent reports refusals as plain Errors from the lookup; its message
  // is the only signal it gives.
  return err instanceof Error && /is not allowed/.test(err.message);
}

function get(url: URL, options: OpenOptions, headers: Record<string, string>): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const client = url.protocol === 'https:' ? https : http;
    const req = client.get(url, {
      agent: agentFor(url, options),
      signal: options.signal,
      ...(options.lookup ? { lookup: options.lookup } : {}),
      // No accept-encoding: compressed datasets are recognised by their bytes, once.
      headers: { 'user-agent': 'batchinfer', ...headers },
    });
    req.setTimeout(options.idleTimeoutMs, () => {
      req.destroy(new DatasetError('DATASET_TIMEOUT', `no data from ${url.host} for ${options.idleTimeoutMs} ms`));
    });
    req.once('response', resolve);
    req.once('error', (err) => {
      if (isBlockedByAgent(err)) {
        reject(new DatasetRefusedError(`dataset host ${url.hostname} resolves to a private or reserved address`));
      } else if (err instanceof DatasetError) {
        reject(err);
      } else {
        reject(new DatasetError('DATASET_UNREACHABLE', `cannot fetch dataset from ${url.host}: ${err.message}`, { cause: err }));
      }
    });
  });
}

/**
 * GETs `start`, following up to five redirects (to http(s) only), and returns the first
 * response that is not a redirect, whatever its status, with the URL that gave it.
 */
export async function getFollowingRedirects(start: URL, options: OpenOptions, headers: Record<string, string> = {}): Promise<HttpResponse> {
  let url = start;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const res = await get(url, options, headers);
    const status = res.statusCode ?? 0;
    if (status >= 300 && status < 400 && res.headers.location) {
      res.resume();
      const next = new URL(res.headers.location, url);
      if (next.protocol !== 'http:' && next.protocol !== 'https:') {
        throw new DatasetRefusedError(`dataset redirect to the ${next.protocol} scheme refused`);
      }
      url = next;
      continue;
    }
    return { res, url };
  }
  throw new DatasetError('DATASET_TOO_MANY_REDIRECTS', `more than ${MAX_REDIRECTS} redirects fetching the dataset`);
}

/**
 * `http://` and `https://` datasets: redirects followed, server errors retried, and a stream
 * cut mid-way resumed where it stopped (see {@link openResumable}).
 */
export const httpSource: DatasetSource = {
  schemes: ['http', 'https'],
  admit: (url, policy, resolver) => checkDatasetAddress(url, policy, resolver),
  stat: (start: URL, options: OpenOptions): Promise<SourceStat> =>
    statHttp(start, options, (url, headers) => getFollowingRedirects(url, options, headers)),
  open: (start: URL, options: ReadOptions): Promise<OpenedDataset> =>
    openResumable(start, options, (url, headers) => getFollowingRedirects(url, options, headers)),
};
