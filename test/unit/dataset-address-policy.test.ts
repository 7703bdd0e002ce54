/**
 * The submission-time address policy. Host names are resolved by a stub resolver here (the
 * test cannot make real DNS answer with private addresses); the integration tests use the
 * real resolver and real listeners.
 */
import type { LookupAddress } from 'node:dns';
import { describe, expect, it } from 'vitest';
import { checkDatasetAddress, isAddressAllowed } from '../../src/shared/io/address-policy.js';
import type { AddressPolicy, Resolver } from '../../src/shared/io/address-policy.js';
import { DatasetRefusedError, ValidationError } from '../../src/shared/errors.js';

const strict: AddressPolicy = { allowPrivateNetworks: false, allowedCidrs: [] };

const stubResolver =
  (answers: Record<string, string[]>): Resolver =>
  (hostname) => {
    const addresses = answers[hostname];
    if (!addresses) return Promise.reject(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }));
    return Promise.resolve(addresses.map((address): LookupAddress => ({ address, family: address.includes(':') ? 6 : 4 })));
  };

const noDns: Resolver = (hostname) => Promise.reject(new Error(`unexpected lookup of ${hostname}`));

async function refusal(url: string, policy = strict, resolver: Resolver = noDns): Promise<unknown> {
  try {
    await checkDatasetAddress(new URL(url), policy, resolver);
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('isAddressAllowed', () => {
  it.each([
    '127.0.0.1',
    '127.255.255.254',
    '0.0.0.0',
    '10.1.2.3',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.0.1',
    '169.254.169.254',
    '100.100.100.200',
    '100.64.0.1',
    '192.0.0.192',
    '224.0.0.1',
    '255.255.255.255',
    '240.0.0.1',
    '198.18.0.1',
    '::1',
    '::',
    'fe80::1',
    'fd00:ec2::254',
    'fc00::1',
    'fec0::1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:169.254.169.254',
    '64:ff9b::7f00:1',
    '2002:7f00:1::',
    '2001::1',
    'ff02::1',
    'not-an-ip',
  ])('refuses %s', (address) => {
    expect(isAddressAllowed(address, strict)).toBe(false);
  });

  it.each(['93.184.216.34', '8.8.8.8', '2606:4700:4700::1111', '172.32.0.1', '100.128.0.1'])('allows the public address %s', (address) => {
    expect(isAddressAllowed(address, strict)).toBe(true);
  });

  it('allows exactly the allow-listed addresses, in their own family only', () => {
    const policy: AddressPolicy = { allowPrivateNetworks: false, allowedCidrs: ['127.0.0.2', '10.20.0.0/16', 'fd12::/16'] };
    expect(isAddressAllowed('127.0.0.2', policy)).toBe(true);
    expect(isAddressAllowed('127.0.0.1', policy)).toBe(false);
    expect(isAddressAllowed('::ffff:127.0.0.2', policy)).toBe(false);
    expect(isAddressAllowed('10.20.99.1', policy)).toBe(true);
    expect(isAddressAllowed('10.21.0.1', policy)).toBe(false);
    expect(isAddressAllowed('fd12::1', policy)).toBe(true);
    expect(isAddressAllowed('fd13::1', policy)).toBe(false);
    expect(isAddressAllowed('169.254.169.254', policy)).toBe(false);
  });

  it('allows everything with DATASET_ALLOW_PRIVATE_NETWORKS', () => {
    expect(isAddressAllowed('169.254.169.254', { allowPrivateNetworks: true, allowedCidrs: [] })).toBe(true);
  });
});

describe('checkDatasetAddress', () => {
  // Every spelling of a refused address, as users could type it. The URL parser turns the
  // numeric forms into dotted quads; none of these needs DNS.
  it.each([
    'http://127.0.0.1/d.jsonl',
    'http://0x7f000001/d.jsonl',
    'http://2130706433/d.jsonl',
    'http://0177.0.0.1/d.jsonl',
    'http://0177.0000.0000.0001/d.jsonl',
    'http://127.1/d.jsonl',
    'http://127.0.1/d.jsonl',
    'http://0x7f.1/d.jsonl',
    'http://%31%32%37.0.0.1/d.jsonl',
    'http://１２７.０.０.１/d.jsonl',
    'http://[::1]/d.jsonl',
    'http://[0:0:0:0:0:0:0:1]/d.jsonl',
    'http://[::ffff:127.0.0.1]/d.jsonl',
    'http://[::ffff:7f00:1]/d.jsonl',
    'http://0.0.0.0/d.jsonl',
    'http://0/d.jsonl',
    'http://[::]/d.jsonl',
    'http://169.254.169.254/latest/meta-data/',
    'http://2852039166/latest/meta-data/',
    'http://[fd00:ec2::254]/latest/meta-data/',
    'http://[::ffff:a9fe:a9fe]/latest/meta-data/',
    'http://100.100.100.200/latest/meta-data/',
    'http://192.0.0.192/opc/v1/instance/',
    'http://10.0.0.1/d.jsonl',
    'http://172.16.0.1/d.jsonl',
    'http://192.168.1.1/d.jsonl',
    'http://[fe80::1]/d.jsonl',
    'http://[fc00::1]/d.jsonl',
    'https://[64:ff9b::a9fe:a9fe]/d.jsonl',
    'https://127.0.0.1:8443/d.jsonl',
    'http://user:pass@127.0.0.1/d.jsonl',
  ])('refuses %s without a lookup', async (url) => {
    const err = await refusal(url);
    expect(err).toBeInstanceOf(DatasetRefusedError);
    expect(err).toMatchObject({ code: 'DATASET_URL_REFUSED', field: 'datasetUrl', httpStatus: 400 });
  });

  it.each([
    'http://localhost/d.jsonl',
    'http://LOCALHOST./d.jsonl',
    'http://app.localhost/d.jsonl',
    'http://metadata.google.internal/computeMetadata/v1/',
    'http://metadata.google.internal./computeMetadata/v1/',
    'http://metadata/computeMetadata/v1/',
    'http://instance-data/latest/meta-data/',
  ])('refuses the name %s whatever it resolves to', async (url) => {
    const err = await refusal(url, strict, stubResolver({}));
    expect(err).toMatchObject({ code: 'DATASET_URL_REFUSED', field: 'datasetUrl' });
  });

  it('refuses a name when any of its addresses is refused (stub resolver)', async () => {
    const resolver = stubResolver({ 'mixed.example': ['93.184.216.34', '10.0.0.5'], 'v6.example': ['2606:4700::1', '::1'] });
    expect(await refusal('http://mixed.example/d', strict, resolver)).toBeInstanceOf(DatasetRefusedError);
    expect(await refusal('http://v6.example/d', strict, resolver)).toBeInstanceOf(DatasetRefusedError);
  });

  it('accepts a name that resolves only to public addresses (stub resolver)', async () => {
    const resolver = stubResolver({ 'data.example': ['93.184.216.34', '2606:4700::1'] });
    expect(await refusal('https://data.example/d.jsonl', strict, resolver)).toBeUndefined();
  });

  it('refuses a name that does not exist, and lets a failing resolver through to the connect-time guard', async () => {
    const unknown = await refusal('https://no-such-host.example/d', strict, stubResolver({}));
    expect(unknown).toBeInstanceOf(ValidationError);
    expect(unknown).toMatchObject({ code: 'DATASET_HOST_UNKNOWN', field: 'datasetUrl' });
    const flaky: Resolver = () => Promise.reject(Object.assign(new Error('temporary failure'), { code: 'EAI_AGAIN' }));
    expect(await refusal('https://data.example/d', strict, flaky)).toBeUndefined();
  });

  it('allows the allow-listed test address, not its neighbour', async () => {
    const policy: AddressPolicy = { allowPrivateNetworks: false, allowedCidrs: ['127.0.0.2/32'] };
    expect(await refusal('http://127.0.0.2:8080/d', policy)).toBeUndefined();
    expect(await refusal('http://127.0.0.1:8080/d', policy)).toBeInstanceOf(DatasetRefusedError);
    expect(await refusal('http://[::ffff:127.0.0.2]:8080/d', policy)).toBeInstanceOf(DatasetRefusedError);
  });

  it('checks only schemes that connect; DATASET_ALLOW_PRIVATE_NETWORKS allows all', async () => {
    expect(await refusal('file:///data/d.jsonl')).toBeUndefined();
    expect(await refusal('http://169.254.169.254/', { allowPrivateNetworks: true, allowedCidrs: [] })).toBeUndefined();
  });
});
