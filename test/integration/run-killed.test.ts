/**
 * A `batchinfer run` killed with SIGKILL can clean nothing up itself: its consumers notice
 * (their IPC channel closes) and exit, its redis-server gets SIGTERM from the kernel
 * (setpriv --pdeathsig), and the next run removes the Redis folder it left behind.
 * Real processes, real files; Linux (/proc, setpriv).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, cleanEnv, runCli } from '../helpers/cli.js';
import { writeJsonlDataset } from '../helpers/datasets.js';
import { childPids, isRunning } from '../helpers/processes.js';
import { waitUntil } from '../helpers/wait-until.js';

describe.skipIf(process.platform !== 'linux' || !existsSync('/usr/bin/setpriv'))('a killed run', () => {
  it('leaves no consumer, no redis-server, and (after the next run) no Redis folder', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'bi-killed-'));
    const tmp = path.join(dir, 'tmp');
    await mkdir(tmp);
    const data = await writeJsonlDataset(path.join(dir, 'big.jsonl'), 200_000);
    const run = spawn(
      process.execPath,
      [CLI, 'run', data.path, '--output', path.join(dir, 'out'), '--consumers', '2', '--chunk-size', '200'],
      {
        env: cleanEnv({ TMPDIR: tmp }),
        stdio: 'ignore',
      },
    );
    const exited = new Promise((resolve) => run.once('exit', resolve));
    await waitUntil(() => childPids(run.pid ?? 0).length >= 3, { timeoutMs: 20_000, what: 'redis-server and 2 consumers' });
    const children = childPids(run.pid ?? 0);
    const [redisDir] = await readdir(tmp);
    expect(redisDir).toMatch(/^batchinfer-redis-/);
    run.kill('SIGKILL');
    await exited;
    await waitUntil(() => children.every((pid) => !isRunning(pid)), { timeoutMs: 30_000, what: 'the children of the killed run to exit' });

    // A folder left by an earlier version (no owner file) is kept until it is a day old.
    const unowned = path.join(tmp, 'batchinfer-redis-unowned');
    await mkdir(unowned);
    await writeFile(path.join(dir, 'one.jsonl'), '{"id":1,"features":[1]}\n');
    const next = await runCli(['run', path.join(dir, 'one.jsonl'), '--output', path.join(dir, 'out'), '--consumers', '1'], {
      env: { TMPDIR: tmp },
    });
    expect(next.code, next.stderr).toBe(0);
    expect(await readdir(tmp)).toEqual(['batchinfer-redis-unowned']);
  });
});
