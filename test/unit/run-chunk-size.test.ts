import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_AUTO_SPLIT_BYTES, runChunkSize, SPLITS_PER_SLOT } from '../../src/cli/run-chunk-size.js';

const config = {
  chunkSize: 1000,
  datasetAllowedSchemes: ['file'],
  datasetAllowPrivateNetworks: false,
  datasetAllowedCidrs: [],
  datasetFetchTimeoutSeconds: 10,
  maxLineBytes: 1024 * 1024,
};

/** `count` reference records of exactly 50 bytes each, newline included. */
const records = (count: number, from = 0): string => {
  let text = '';
  for (let i = from; i < from + count; i++) text += `{"id":${String(i).padStart(9, '0')},"features":[1.5,2.5,3]}\n`.padStart(50, ' ');
  return text;
};

/** A record of 200 features: 20,000 of them would make 5000 per split. */
const wide = `{"id":1,"features":[${Array.from({ length: 200 }, () => '0.25').join(',')}]}\n`;
let dir: string;
const url = (name: string): string => pathToFileURL(path.join(dir, name)).toString();

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'run-chunk-size-'));
  await writeFile(path.join(dir, 'big.jsonl'), records(400_000));
  await writeFile(path.join(dir, 'small.jsonl'), records(3000));
  await writeFile(path.join(dir, 'big.jsonl.gz'), gzipSync(records(400_000)));
  await mkdir(path.join(dir, 'folder'));
  for (let f = 0; f < 4; f++) await writeFile(path.join(dir, 'folder', `part-${f}.jsonl`), records(50_000, f * 50_000));
  await writeFile(path.join(dir, 'wide.jsonl'), wide.repeat(20_000));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('the chunk size run picks when none is given', () => {
  it('gives each consumer slot about SPLITS_PER_SLOT splits of a large file', async () => {
    const size = await runChunkSize({ datasetUrl: url('big.jsonl'), format: 'jsonl' }, 2, config);
    expect(size).toBe(400_000 / (2 * SPLITS_PER_SLOT));
  });

  it('counts every object of a folder', async () => {
    const size = await runChunkSize({ datasetUrl: `${url('folder')}/`, format: 'jsonl' }, 4, config);
    expect(size).toBe(200_000 / (4 * SPLITS_PER_SLOT));
  });

  it('never goes below the default chunk size', async () => {
    expect(await runChunkSize({ datasetUrl: url('small.jsonl'), format: 'jsonl' }, 2, config)).toBe(1000);
  });

  it('keeps a split within MAX_AUTO_SPLIT_BYTES of text when records are long', async () => {
    const size = await runChunkSize({ datasetUrl: url('wide.jsonl'), format: 'jsonl' }, 1, config);
    expect(size).toBe(Math.floor(MAX_AUTO_SPLIT_BYTES / wide.length));
  });

  it('leaves a dataset that will be streamed (gzip) at the default', async () => {
    expect(await runChunkSize({ datasetUrl: url('big.jsonl.gz'), format: 'jsonl' }, 2, config)).toBeUndefined();
  });
});
