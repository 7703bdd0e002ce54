/**
 * Reading splits (real files): whatever the byte boundaries, the lines of all an object's
 * splits, in order, are exactly the object's lines as the streaming path reads them: none
 * lost, none twice (the Hadoop LineRecordReader rule).
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { readSplit } from '../../src/consumer/split-reader.js';
import type { SplitReadOptions } from '../../src/consumer/split-reader.js';
import { splitRecords } from '../../src/shared/formats/record-splitter.js';
import { fileSource } from '../../src/shared/io/sources/file-source.js';
import type { SplitDescriptor } from '../../src/shared/types.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'bi-split-reader-'));
});

const options = (maxLineBytes = 1 << 20): SplitReadOptions => ({
  signal: new AbortController().signal,
  idleTimeoutMs: 10_000,
  allowPrivateNetworks: false,
  allowedSchemes: ['file'],
  maxLineBytes,
});

/** Splits of `splitBytes` over the whole file, as the planner lays them out. */
async function splitsOf(file: string, splitBytes: number): Promise<SplitDescriptor[]> {
  const url = pathToFileURL(file);
  const stat = await fileSource.stat(url, options());
  const size = stat.size ?? 0;
  const out: SplitDescriptor[] = [];
  for (let start = 0, i = 0; start < size; start += splitBytes, i++) {
    out.push({
      source: url.toString(),
      version: stat.version ?? '',
      size,
      start,
      end: Math.min(size, start + splitBytes),
      splitIndex: i,
      fileIndex: 0,
      lineBase: 0,
    });
  }
  return out;
}

async function streamed(content: Buffer): Promise<string[]> {
  const texts: string[] = [];
  for await (const batch of splitRecords(Readable.from([content]), { format: 'jsonl', maxRecordChars: 1 << 20 })) {
    texts.push(...batch.map((r) => r.text));
  }
  return texts;
}

let n = 0;
async function readAll(content: Buffer, splitBytes: number, maxLineBytes?: number): Promise<{ records: string[]; rejected: number[] }> {
  const file = path.join(dir, `f${n++}.jsonl`);
  await writeFile(file, content);
  const records: string[] = [];
  const rejected: number[] = [];
  for (const split of await splitsOf(file, splitBytes)) {
    const text = await readSplit(split, options(maxLineBytes));
    for (const r of text.rejected) rejected.push(records.length + r.index);
    records.push(...text.records);
  }
  return { records, rejected };
}

describe('readSplit', () => {
  it('gives every line to exactly one split, for any content and any split size', async () => {
    const line = fc.stringMatching(/^[a-z€"{}\r ]{0,12}$/);
    await fc.assert(
      fc.asyncProperty(
        fc.array(line, { maxLength: 30 }),
        fc.boolean(),
        fc.boolean(),
        fc.integer({ min: 1, max: 40 }),
        async (lines, trailingNewline, bom, splitBytes) => {
          const text = (bom ? '\uFEFF' : '') + lines.join('\n') + (trailingNewline && lines.length > 0 ? '\n' : '');
          const content = Buffer.from(text);
          const { records } = await readAll(content, splitBytes);
          expect(records).toEqual(await streamed(content));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('finishes a last line far past its split end (more than one extra read)', async () => {
    const long = 'x'.repeat(300_000);
    const { records } = await readAll(Buffer.from(`a\n${long}\nb\n`), 1000);
    expect(records).toEqual(['a', long, 'b']);
  });

  it('rejects a line longer than MAX_LINE_BYTES by its place, and goes on', async () => {
    const { records, rejected } = await readAll(Buffer.from(`ok\n${'y'.repeat(100)}\nafter\n`), 7, 20);
    expect(records).toEqual(['ok', '', 'after']);
    expect(rejected).toEqual([1]);
  });

  it('refuses to read a split of a file that changed since planning (DATASET_CHANGED)', async () => {
    const file = path.join(dir, 'changing.jsonl');
    await writeFile(file, 'a\nb\n');
    const [split] = await splitsOf(file, 100);
    await writeFile(file, 'a\nb\nc\n');
    await expect(readSplit(split as SplitDescriptor, options())).rejects.toMatchObject({ code: 'DATASET_CHANGED' });
  });
});
