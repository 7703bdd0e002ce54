import { describe, expect, it } from 'vitest';
import { Chunker } from '../../src/producer/chunker.js';
import type { ChunkData } from '../../src/shared/types.js';

const options = { batchId: 'b1', chunkSize: 3, maxChunkChars: 1000, format: 'jsonl' as const, model: 'sum', outputUrl: 'file:///tmp/o' };

function chunkAll(chunker: Chunker, records: { text: string; line: number; rejected?: string }[]): ChunkData[] {
  const out: ChunkData[] = [];
  for (const r of records) {
    const full = chunker.add(r);
    if (full) out.push(full);
  }
  const last = chunker.flush();
  if (last) out.push(last);
  return out;
}

describe('Chunker', () => {
  it('cuts chunks of chunkSize with consecutive indexes and first lines', () => {
    const chunker = new Chunker(options);
    const chunks = chunkAll(
      chunker,
      Array.from({ length: 7 }, (_, i) => ({ text: `r${i}`, line: i + 1 })),
    );
    expect(chunks.map((c) => [c.chunkIndex, c.firstLine, c.records!.length])).toEqual([
      [0, 1, 3],
      [1, 4, 3],
      [2, 7, 1],
    ]);
    expect(chunks.every((c) => c.lines === undefined)).toBe(true);
    expect(chunker.recordCount).toBe(7);
  });

  it('does not count blank lines as records but keeps them for line numbering', () => {
    const chunker = new Chunker(options);
    const chunks = chunkAll(chunker, [
      { text: 'a', line: 1 },
      { text: '', line: 2 },
      { text: 'b', line: 3 },
    ]);
    expect(chunks[0]?.records).toEqual(['a', '', 'b']);
    expect(chunker.recordCount).toBe(2);
  });

  it('records explicit line numbers only when rows are not consecutive lines', () => {
    const chunker = new Chunker({ ...options, format: 'csv', header: ['id', 'a'] });
    const [chunk] = chunkAll(chunker, [
      { text: '1,"x\ny"', line: 2 },
      { text: '2,3', line: 4 },
    ]);
    expect(chunk?.lines).toEqual([2, 4]);
    expect(chunk?.header).toEqual(['id', 'a']);
  });

  it('cuts a chunk early when its payload would exceed maxChunkChars', () => {
    const chunker = new Chunker({ ...options, chunkSize: 100, maxChunkChars: 10 });
    const chunks = chunkAll(
      chunker,
      ['aaaa', 'bbbb', 'cccc'].map((text, i) => ({ text, line: i + 1 })),
    );
    expect(chunks.map((c) => c.records!)).toEqual([['aaaa', 'bbbb'], ['cccc']]);
  });

  it('carries rejected records with their index in the chunk', () => {
    const chunker = new Chunker(options);
    const [chunk] = chunkAll(chunker, [
      { text: 'a', line: 1 },
      { text: '', line: 2, rejected: 'too long' },
    ]);
    expect(chunk?.rejected).toEqual([{ index: 1, error: 'too long' }]);
    expect(chunker.recordCount).toBe(2);
  });
});
