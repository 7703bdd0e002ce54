/** The file sink makes its folder level by level, and fails with a reason where it cannot. */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { OutputError } from '../../src/shared/errors.js';
import { FileSink } from '../../src/shared/io/sinks/file-sink.js';

describe('FileSink folders', () => {
  it('creates missing folders several levels deep', async () => {
    const dir = path.join(await mkdtemp(path.join(os.tmpdir(), 'bi-sink-')), 'a', 'b', 'c');
    await new FileSink(dir).write('part.jsonl', 'x\n');
    expect(await readFile(path.join(dir, 'part.jsonl'), 'utf8')).toBe('x\n');
  });

  it.skipIf(process.platform !== 'linux')('fails under /proc instead of spinning (Node’s recursive mkdir loops there)', async () => {
    const err = await new FileSink('/proc/batchinfer-test/out').write('part.jsonl', 'x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OutputError);
    expect((err as OutputError).code).toBe('OUTPUT_NOT_WRITABLE');
    expect((err as Error).message).toContain('/proc/batchinfer-test');
  });

  it('fails where a file stands in for a folder', async () => {
    const file = path.join(await mkdtemp(path.join(os.tmpdir(), 'bi-sink-')), 'a-file');
    await writeFile(file, '');
    const err = await new FileSink(path.join(file, 'out')).write('part.jsonl', 'x').catch((e: unknown) => e);
    expect((err as OutputError).code).toBe('OUTPUT_NOT_WRITABLE');
  });
});
