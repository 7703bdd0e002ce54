/** The file sink makes its folder level by level, and fails with the system's reason where it cannot. */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileSink } from '../../src/shared/io/sinks/file-sink.js';

describe('FileSink folders', () => {
  it('creates missing folders several levels deep', async () => {
    const dir = path.join(await mkdtemp(path.join(os.tmpdir(), 'bi-sink-')), 'a', 'b', 'c');
    await new FileSink(dir).write('part.jsonl', 'x\n');
    expect(await readFile(path.join(dir, 'part.jsonl'), 'utf8')).toBe('x\n');
  });

  it.skipIf(process.platform !== 'linux')('fails under /proc instead of spinning (Node’s recursive mkdir loops there)', async () => {
    const err = await new FileSink('/proc/batchinfer-test/out').write('part.jsonl', 'x').catch((e: unknown) => e);
    // The system's error, naming the path: the consumer retries the chunk on it.
    expect((err as NodeJS.ErrnoException).code).toBe('ENOENT');
    expect((err as Error).message).toContain('/proc/batchinfer-test');
  });

  it('fails where a file stands in for a folder', async () => {
    const file = path.join(await mkdtemp(path.join(os.tmpdir(), 'bi-sink-')), 'a-file');
    await writeFile(file, '');
    const err = await new FileSink(path.join(file, 'out')).write('part.jsonl', 'x').catch((e: unknown) => e);
    expect((err as NodeJS.ErrnoException).code).toBe('ENOTDIR');
  });
});

describe('FileSink after its folder is fixed', () => {
  it('writes once a file that stood where the folder should be is removed (the chunk retry case)', async () => {
    const dir = path.join(await mkdtemp(path.join(os.tmpdir(), 'bi-sink-')), 'batch');
    await writeFile(dir, 'not a folder');
    const sink = new FileSink(dir);
    const err = await sink.write('part.jsonl', 'x').catch((e: unknown) => e);
    expect((err as NodeJS.ErrnoException).code).toBe('ENOTDIR');
    await rm(dir);
    await sink.write('part.jsonl', 'y\n');
    expect(await readFile(path.join(dir, 'part.jsonl'), 'utf8')).toBe('y\n');
  });
});
