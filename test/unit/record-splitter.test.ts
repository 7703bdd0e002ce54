import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { splitRecords } from '../../src/shared/formats/record-splitter.js';
import type { RawRecord, SplitOptions } from '../../src/shared/formats/record-splitter.js';

async function split(pieces: (string | Buffer)[], options: Partial<SplitOptions> = {}): Promise<RawRecord[]> {
  const stream = Readable.from(pieces.map((p) => (typeof p === 'string' ? Buffer.from(p) : p)));
  const out: RawRecord[] = [];
  for await (const batch of splitRecords(stream, { format: 'jsonl', maxRecordChars: 1000, ...options })) out.push(...batch);
  return out;
}

describe('splitRecords', () => {
  it('numbers JSONL lines from 1 and keeps blank lines so numbering holds', async () => {
    const out = await split(['a\n\nb\n']);
    expect(out).toEqual([
      { text: 'a', line: 1 },
      { text: '', line: 2 },
      { text: 'b', line: 3 },
    ]);
  });

  it('joins a line split across buffers, including inside a multi-byte character', async () => {
    const euro = Buffer.from('€');
    const out = await split([Buffer.from('{"x":"'), euro.subarray(0, 1), Buffer.concat([euro.subarray(1), Buffer.from('"}\nz')])]);
    expect(out.map((r) => r.text)).toEqual(['{"x":"€"}', 'z']);
  });

  it('strips CRLF and a leading byte-order mark', async () => {
    const out = await split(['\uFEFFa\r\nb\r\n']);
    expect(out.map((r) => r.text)).toEqual(['a', 'b']);
  });

  it('reports an overlong line as a rejected record with its line number, and goes on', async () => {
    const long = 'x'.repeat(50);
    const out = await split(['ok\n', long.slice(0, 30), long.slice(30) + '\nafter\n'], { maxRecordChars: 20 });
    expect(out).toEqual([
      { text: 'ok', line: 1 },
      { text: '', line: 2, rejected: 'record longer than 20 characters' },
      { text: 'after', line: 3 },
    ]);
  });

  it('keeps a CSV row whose quoted field spans lines together, at its first line', async () => {
    const out = await split(['id,a\n1,"multi\nline",2\n3,4\n'], { format: 'csv' });
    expect(out).toEqual([
      { text: 'id,a', line: 1 },
      { text: '1,"multi\nline",2', line: 2 },
      { text: '3,4', line: 4 },
    ]);
  });

  it('yields a last line without a trailing newline', async () => {
    expect((await split(['a\nb'])).map((r) => r.text)).toEqual(['a', 'b']);
  });

  // Found by the fuzz test: a line of exactly the limit whose \r\n is split across buffers.
  it('keeps a line of exactly the limit when its CRLF arrives split across buffers', async () => {
    const out = await split(['abcd\r', '\nnext'], { maxRecordChars: 4 });
    expect(out).toEqual([
      { text: 'abcd', line: 1 },
      { text: 'next', line: 2 },
    ]);
  });
});
