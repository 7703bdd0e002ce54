/**
 * Which network addresses a dataset may be fetched from, checked when a batch is submitted,
 * so a URL aimed at a metadata service, loopback or a private network is refused with a 400
 * before anything connects to it.
 *
 * This is the early, user-facing check. The real defense stays at connect time
 * (request-filtering-agent in `sources/http-source.ts`): a name can resolve differently by
 * then (DNS rebinding) and a redirect can point anywhere, and the agent checks the address
 * of every connection, every hop. Both apply the same rule, {@link isAddressAllowed}, so a
 * URL accepted here is not refused there for a different reason, and vice versa.
 *
 * Numeric spellings (`2130706433`, `0x7f000001`, `0177.0.0.1`, `127.1`) need no special
 * case: the WHATWG URL parser canonicalises them to `127.0.0.1` before we see the host.
 */
import dns from 'node:dns';
import type { LookupAddress } from 'node:dns';
import net from 'node:net';
import ipaddr from 'ipaddr.js';
import type { Config } from '../config/config.js';
import { DatasetRefusedError, ValidationError } from '../errors.js';

export interface AddressPolicy {
  /** `DATASET_ALLOW_PRIVATE_NETWORKS`: every address is allowed. */
  allowPrivateNetworks: boolean;
  /** `DATASET_ALLOWED_CIDRS`: exceptions to the refusal, as IPs or CIDR ranges. */
  allowedCidrs: readonly string[];
}

/** Resolves a host name to all its addresses (`dns.lookup` with `all: true`, injectable for tests). */
export type Resolver = (hostname: string) => Promise<LookupAddress[]>;

export const systemResolver: Resolver = (hostname) => dns.promises.lookup(hostname, { all: true, verbatim: true });

/**
 * Names of cloud metadata services and of this machine, refused whatever they resolve to:
 * where they resolve at all, it is to an address that must not be reached, and refusing
 * by name keeps the answer the same on a laptop (where they do not resolve) and in a cloud.
 */
const REFUSED_NAMES = new Set([
  'localhost',
  'metadata',
  'metadata.google.internal',
  'metadata.goog',
  'instance-data',
  'instance-data.ec2.internal',
  'metadata.azure.internal',
  'metadata.tencentyun.com',
]);

/** Bounds the submission-time lookup; past it the request goes on and the connect-time guard decides. */
const LOOKUP_TIMEOUT_MS = 5000;

export function addressPolicy(config: Pick<Config, 'datasetAllowPrivateNetworks' | 'datasetAllowedCidrs'>): AddressPolicy {
  return { allowPrivateNetworks: config.datasetAllowPrivateNetworks, allowedCidrs: config.datasetAllowedCidrs };
}

function inAllowList(address: ipaddr.IPv4 | ipaddr.IPv6, allowedCidrs: readonly string[]): boolean {
  for (const entry of allowedCidrs) {
    if (!entry.includes('/')) {
      if (ipaddr.parse(entry).toString() === address.toString()) return true;
      continue;
    }
    const range = ipaddr.parseCIDR(entry);
    if (range[0].kind() === address.kind() && address.match(range)) return true;
  }
  return false;
}

/**
 * True when a dataset may be fetched from `address` (an IP literal). Only global unicast
 * addresses are allowed; loopback, private (RFC 1918, IPv6 ULA), link-local (cloud
 * metadata at 169.254.169.254), CGNAT (Alibaba's 100.100.100.200), unspecified, multicast,
 * reserved, IPv4-mapped/NAT64/6to4/Teredo IPv6 forms of any IPv4 address are refused, the
 * same classes request-filtering-agent refuses (it allows only ipaddr.js's `unicast`).
 */
export function isAddressAllowed(address: string, policy: AddressPolicy): boolean {
  if (policy.allowPrivateNetworks) return true;
  if (!ipaddr.isValid(address)) return false;
  const parsed = ipaddr.parse(address);
  // As in the agent: an allow-list entry matches addresses of its own family only, so
  // `::ffff:127.0.0.2` is not allowed by `127.0.0.2/32`.
  if (inAllowList(parsed, policy.allowedCidrs)) return true;
  return parsed.range() === 'unicast';
}

/** The host of a URL as an address or a name: brackets and trailing dots removed, lower case. */
export function urlHost(url: URL): string {
  const host = url.hostname.toLowerCase();
  if (host.startsWith('[') && host.endsWith(']')) return host.slice(1, -1);
  return host.replace(/\.+$/, '');
}

function isRefusedName(host: string): boolean {
  return REFUSED_NAMES.has(host) || host.endsWith('.localhost');
}

async function resolveWithTimeout(resolver: Resolver, host: string): Promise<LookupAddress[] | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), LOOKUP_TIMEOUT_MS);
  });
  try {
    return await Promise.race([resolver(host), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Refuses (with {@link DatasetRefusedError}, a 400 naming `datasetUrl`) an `http(s)` dataset
 * URL whose host is, or resolves to, an address {@link isAddressAllowed} refuses. A name
 * that does not exist is refused too (`DATASET_HOST_UNKNOWN`); a lookup that fails for
 * another reason (resolver down, timeout) lets the request through to the connect-time guard.
 * Other schemes (`file:` for `batchinfer run`) open no connection and are not checked here.
 */
export async function checkDatasetAddress(url: URL, policy: AddressPolicy, resolver: Resolver = systemResolver): Promise<void> {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return;
  if (policy.allowPrivateNetworks) return;
  const host = urlHost(url);
  if (net.isIP(host) !== 0) {
    if (!isAddressAllowed(host, policy))
      throw new DatasetRefusedError(`dataset host ${host} is a private, loopback, link-local or reserved address`);
    return;
  }
  if (isRefusedName(host)) throw new DatasetRefusedError(`dataset host ${host} names this machine or a cloud metadata service`);
  let addresses: LookupAddress[] | undefined;
  try {
    addresses = await resolveWithTimeout(resolver, host);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTFOUND' || code === 'ENODATA') {
      throw new ValidationError('datasetUrl', `dataset host ${host} does not resolve`, 'DATASET_HOST_UNKNOWN');
    }
    return;
  }
  if (!addresses) return;
  const refused = addresses.find((a) => !isAddressAllowed(a.address, policy));
  if (refused)
    throw new DatasetRefusedError(
      `dataset host ${host} resolves to ${refused.address}, a private, loopback, link-local or reserved address`,
    );
}
