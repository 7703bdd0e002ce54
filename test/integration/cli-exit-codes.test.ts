/**
 * The exit-code table of docs/cli.md, each code driven through the real built CLI
 * (`dist/bundle/cli.js`) with real redis-server, consumer processes and files. User
 * mistakes must print exactly one line on stderr, never a stack trace.
 */
import { spawn } from 'node:child_process';
import { chmod, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, cleanEnv, runCli } from '../helpers/cli.js';
import type { CliResult } from '../helpers/cli.js';
import { writeJsonlDataset } from '../helpers/datasets.js';
import { childPids, isRunning } from '../helpers/processes.js';
import { startTestRedis } from '../helpers/redis.js';
import type { LocalRedis } from '../helpers/redis.js';
import { waitUntil } from '../helpers/wait-until.js';

let dir: string;
let redis: LocalRedis;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'bi-exit-'));
  redis = await startTestRedis();
});
afterAll(async () => {
  await redis?.stop();
});

/** One line, no stack frames (`    at ...`), nothing on stdout. */
function expectOneLine(result: CliResult, pattern: RegExp): void {
  expect(result.stdout).toBe('');
  const lines = result.stderr.trim().split('\n');
  expect(lines, result.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(result.stderr).not.toMatch(/^\s+at /m);
}

describe('exit code 0: completed', () => {
  it('a batch with some record errors still completes', async () => {
    const data = path.join(dir, 'ok.jsonl');
    await writeFile(data, '{"id":1,"features":[1,2]}\nnot json\n');
    const result = await runCli(['run', data, '--output', path.join(dir, 'out'), '--consumers', '1'], { env: { REDIS_URL: redis.url } });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/completed/);
    expect(result.stdout).toMatch(/1 predicted, 1 errors/);
  });

  it('an empty dataset completes and says it was empty', async () => {
    const data = path.join(dir, 'empty.jsonl');
    await writeFile(data, '');
    const result = await runCli(['run', data, '--output', path.join(dir, 'out'), '--consumers', '1'], { env: { REDIS_URL: redis.url } });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/the dataset was empty/);
    expect(result.stdout).not.toMatch(/null|NaN/);
  });
});

describe('exit code 1: the batch failed', () => {
  it('completed with every record failed', async () => {
    const data = path.join(dir, 'all-bad.jsonl');
    await writeFile(data, 'nope\n{"id":2}\n');
    const result = await runCli(['run', data, '--output', path.join(dir, 'out'), '--consumers', '1', '--json'], {
      env: { REDIS_URL: redis.url },
    });
    expect(result.code, result.stderr).toBe(1);
    const summary = JSON.parse(result.stdout) as { status: string; records: { succeeded: number; failed: number } };
    expect(summary.status).toBe('completed');
    expect(summary.records).toMatchObject({ succeeded: 0, failed: 2 });
  });
});

describe('exit code 2: usage, configuration or input error, one line', () => {
  it('an unknown flag', async () => {
    expectOneLine(await runCli(['run', 'x.jsonl', '--bogus']), /^batchinfer run: Unknown option '--bogus'; see batchinfer run --help$/);
  });

  it('a bad flag value', async () => {
    expectOneLine(await runCli(['run', 'x.jsonl', '--consumers', 'two']), /--consumers expects a positive whole number/);
  });

  it('an unknown command', async () => {
    expectOneLine(await runCli(['frobnicate']), /unknown command 'frobnicate'.*--help/);
  });

  it('a missing dataset file', async () => {
    const result = await runCli(['run', path.join(dir, 'missing.jsonl')]);
    expect(result.code).toBe(2);
    expectOneLine(result, /dataset .*missing\.jsonl: no such file or folder \(check the path/);
  });

  it('an unwritable output: /proc, a file where a folder should be, a read-only folder — at start, naming the path', async () => {
    const data = await writeJsonlDataset(path.join(dir, 'w.jsonl'), 3);
    const aFile = path.join(dir, 'a-file');
    await writeFile(aFile, 'x');
    const readOnly = await mkdtemp(path.join(dir, 'ro-'));
    await chmod(readOnly, 0o500);
    const outputs = ['/proc/x', path.join(aFile, 'out'), path.join(readOnly, 'out')];
    // root ignores permission bits: the read-only folder is only a case for other users.
    if (process.getuid?.() === 0) outputs.pop();
    for (const output of outputs) {
      const result = await runCli(['run', data.path, '--output', output], { env: { REDIS_URL: redis.url }, timeoutMs: 20_000 });
      expect(result.code, output).toBe(2);
      expectOneLine(result, new RegExp(`output folder ${output.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not writable`));
    }
  });

  it('a loopback dataset URL, with the variable that allows it', async () => {
    const result = await runCli(['run', 'http://127.0.0.1:9/data.jsonl', '--output', path.join(dir, 'out')], {
      env: { REDIS_URL: redis.url },
    });
    expect(result.code).toBe(2);
    expectOneLine(result, /DATASET_ALLOW_PRIVATE_NETWORKS/);
  });

  it('a malformed environment variable', async () => {
    const result = await runCli(['run', path.join(dir, 'ok.jsonl')], { env: { CHUNK_SIZE: 'many' } });
    expect(result.code).toBe(2);
    expectOneLine(result, /invalid configuration: CHUNK_SIZE/);
  });

  it('--debug adds the stack trace to the same line', async () => {
    const result = await runCli(['run', path.join(dir, 'missing.jsonl'), '--debug']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^\s+at /m);
    const viaLogLevel = await runCli(['run', path.join(dir, 'missing.jsonl')], { env: { LOG_LEVEL: 'debug' } });
    expect(viaLogLevel.stderr).toMatch(/^\s+at /m);
  });
});

describe('exit code 3: Redis or the producer cannot be reached', () => {
  it('REDIS_URL points at nothing', async () => {
    const data = path.join(dir, 'ok.jsonl');
    const result = await runCli(['run', data, '--output', path.join(dir, 'out')], { env: { REDIS_URL: 'redis://127.0.0.1:1' } });
    expect(result.code).toBe(3);
    expectOneLine(result, /cannot connect to Redis at REDIS_URL/);
  });

  it('no producer at --server', async () => {
    for (const args of [
      ['status', 'abc'],
      ['cancel', 'abc'],
      ['retry', 'abc'],
      ['submit', 'https://example.com/d.jsonl'],
    ]) {
      const result = await runCli([...args, '--server', 'http://127.0.0.1:9']);
      expect(result.code, args.join(' ')).toBe(3);
      expectOneLine(result, /cannot reach the producer at http:\/\/127\.0\.0\.1:9/);
    }
  });
});

describe('exit code 130: interrupted', () => {
  it('Ctrl-C during run stops the consumers and the private Redis and removes its folder', async () => {
    const data = await writeJsonlDataset(path.join(dir, 'big.jsonl'), 200_000);
    const tmp = await mkdtemp(path.join(os.tmpdir(), 'bi-exit-tmp-'));
    // Its own TMPDIR, so the private Redis folder of this run is the only one there.
    const child = spawn(
      process.execPath,
      [CLI, 'run', data.path, '--output', path.join(dir, 'out'), '--consumers', '2', '--chunk-size', '200'],
      {
        env: cleanEnv({ TMPDIR: tmp }),
      },
    );
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await waitUntil(async () => (await readdir(tmp)).some((n) => n.startsWith('batchinfer-redis-')), {
      timeoutMs: 20_000,
      what: 'the private Redis',
    });
    await waitUntil(() => childPids(child.pid ?? 0).length >= 3, { timeoutMs: 20_000, what: 'redis-server and 2 consumers' });
    const children = childPids(child.pid ?? 0);
    child.kill('SIGINT');
    expect(await exited, stderr).toBe(130);
    expect(stderr).toMatch(/interrupted/);
    expect(await readdir(tmp)).toEqual([]);
    for (const pid of children) expect(isRunning(pid), `pid ${pid}`).toBe(false);
  });
});
