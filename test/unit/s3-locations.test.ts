/**
 * `s3://` locations as users write them: what is refused (and with which code), how an
 * output root is normalised, and which locations lie inside it. No store is involved.
 */
import { describe, expect, it } from 'vitest';
import { batchFolderUrl, normaliseOutputUrl, outputWithin } from '../../src/shared/io/sinks/registry.js';
import { s3Source } from '../../src/shared/io/sources/s3-source.js';

const policy = { allowPrivateNetworks: false, allowedCidrs: [] };

describe('s3 dataset URLs', () => {
  it('are admitted by form alone: the endpoint is the operator setting, so any bucket and key pass', async () => {
    for (const url of ['s3://lake/events/dt=2026-12-01/part-0.jsonl', 's3://lake/events/dt=2026-12-01/', 's3://a.b-c/k%20ey.jsonl']) {
      await expect(s3Source.admit(new URL(url), policy), url).resolves.toBeUndefined();
    }
  });

  it('refuse credentials, hosts, queries and keys S3 would read differently, as DATASET_URL_REFUSED', async () => {
    const refused = [
      's3://AKIA:secret@lake/in.jsonl',
      's3://lake:9000/in.jsonl',
      's3://lake/in.jsonl?versionId=1',
      's3://Lake/in.jsonl',
      's3://la/in.jsonl',
      's3://10.0.0.1/in.jsonl',
      's3://lake/a//b.jsonl',
      's3://lake/a/%2E%2E%2Fb.jsonl',
      's3://lake/a%00.jsonl',
    ];
    for (const url of refused) {
      const err = await s3Source.admit(new URL(url), policy).catch((e: unknown) => e as Error);
      expect(err, url).toMatchObject({ code: 'DATASET_URL_REFUSED', field: 'datasetUrl' });
      expect(err?.message).not.toContain('secret');
    }
  });
});

describe('s3 output locations', () => {
  it('are normalised without a trailing slash, and a batch folder is one key segment below', () => {
    expect(normaliseOutputUrl('s3://results/batches/')).toBe('s3://results/batches');
    expect(normaliseOutputUrl('s3://results/')).toBe('s3://results');
    expect(normaliseOutputUrl('s3://results')).toBe('s3://results');
    expect(normaliseOutputUrl('s3://results/a b/dt=1')).toBe('s3://results/a%20b/dt=1');
    expect(batchFolderUrl('s3://results/batches/', 'b-1')).toBe('s3://results/batches/b-1');
    expect(batchFolderUrl('s3://results', 'b-1')).toBe('s3://results/b-1');
  });

  it('lie inside a root only in its bucket, below its key prefix on a / boundary', () => {
    const root = 's3://results/batches';
    expect(outputWithin(root, 's3://results/batches')).toBe(true);
    expect(outputWithin(root, 's3://results/batches/team-a')).toBe(true);
    expect(outputWithin(root, 's3://results/batches-other')).toBe(false);
    expect(outputWithin(root, 's3://results/other')).toBe(false);
    expect(outputWithin(root, 's3://results')).toBe(false);
    expect(outputWithin(root, 's3://results2/batches/x')).toBe(false);
    expect(outputWithin(root, 's3://results/batches/../other')).toBe(false);
    expect(outputWithin(root, 'file:///results/batches/x')).toBe(false);
    expect(outputWithin('s3://results', 's3://results/anything/below')).toBe(true);
  });

  it('refuse what is not a bucket and key as OUTPUT_INVALID', () => {
    for (const location of ['s3://key:secret@results/x', 's3://results:9000/x', 's3://results/a//b', 's3://Results/x']) {
      expect(() => normaliseOutputUrl(location), location).toThrow(expect.objectContaining({ code: 'OUTPUT_INVALID' }));
      expect(() => normaliseOutputUrl(location)).not.toThrow(/secret/);
    }
  });
});
