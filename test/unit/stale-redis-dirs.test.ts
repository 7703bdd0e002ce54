/** Real folders and real processes: a folder is removed only when its owner is gone. */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, utimes } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { removeStaleRedisDirs, writeOwner } from '../../src/cli/stale-redis-dirs.js';

/** The pid of a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0']);
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid ?? 0;
}

describe('stale Redis folders of killed runs', () => {
  it('removes those whose owner is gone, keeps live owners, others, and recent unowned ones', async () => {
    const tmp = await mkdtemp(path.join(os.tmpdir(), 'bi-stale-'));
    const make = async (name: string): Promise<string> => {
      const dir = path.join(tmp, name);
      await mkdir(dir);
      return dir;
    };
    await writeOwner(await make('batchinfer-redis-dead'), { pid: await deadPid() });
    await writeOwner(await make('batchinfer-redis-live'), { pid: process.pid });
    await make('batchinfer-redis-recent-unowned');
    const old = await make('batchinfer-redis-old-unowned');
    const twoDaysAgo = new Date(Date.now() - 2 * 24 * 3600 * 1000);
    await utimes(old, twoDaysAgo, twoDaysAgo);
    await make('something-else');
    const removed = await removeStaleRedisDirs(tmp);
    expect(removed.map((d) => path.basename(d)).sort()).toEqual(['batchinfer-redis-dead', 'batchinfer-redis-old-unowned']);
    expect((await readdir(tmp)).sort()).toEqual(['batchinfer-redis-live', 'batchinfer-redis-recent-unowned', 'something-else']);
  });
});
