/**
 * README's quick start, as written: the commands are read from the first `sh` block under
 * "## Quick start" in README.md, so editing README changes what runs here. The demo command
 * runs verbatim (`bash -c`) in a copy of the repository (its build must not replace the dist/
 * that the other test files are running) that shares node_modules, which setup.sh then finds
 * current and leaves alone. The test command cannot run inside the suite it starts; CI runs it
 * (`.ci/run`), and this test checks that CI runs exactly that command.
 */
import { execFileSync, spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanEnv, ROOT } from '../helpers/cli.js';
import { readBatchOutput } from '../helpers/output.js';

/** The quick-start commands: each non-empty line of the block, without its trailing comment. */
async function quickStartCommands(): Promise<string[]> {
  const readme = await readFile(path.join(ROOT, 'README.md'), 'utf8');
  const section = readme.split(/^## /m).find((s) => s.startsWith('Quick start'));
  const block = section && /```sh\n([\s\S]*?)```/.exec(section)?.[1];
  if (!block) throw new Error('README.md has no ```sh block under "## Quick start"');
  return block
    .split('\n')
    .map((line) => line.replace(/\s+#.*$/, '').trim())
    .filter((line) => line !== '');
}

/** The repository's files (tracked, and new ones not ignored) copied to a fresh folder, node_modules linked. */
async function copyOfRepository(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bi-readme-'));
  const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], { cwd: ROOT, encoding: 'utf8' })
    .split('\0')
    .filter((f) => f !== '');
  for (const file of files) {
    await mkdir(path.join(dir, path.dirname(file)), { recursive: true });
    await cp(path.join(ROOT, file), path.join(dir, file)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err; // deleted in the work tree, not yet in git
    });
  }
  await symlink(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  return dir;
}

function sh(command: string, cwd: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    // Like a new user's shell: none of the test's service variables (REDIS_URL, OUTPUT_URL, ...).
    const child = spawn('bash', ['-c', command], { cwd, env: cleanEnv({ CI: 'true' }), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.once('error', reject).once('close', (code) => resolve({ code, output }));
  });
}

/** What the sample's lines should give: the sum of the features, or an error for that line. */
async function expectedFromSample(file: string): Promise<{ predictions: Map<unknown, number>; badLines: number[] }> {
  const lines = (await readFile(file, 'utf8')).split('\n').filter((l) => l !== '');
  const predictions = new Map<unknown, number>();
  const badLines: number[] = [];
  lines.forEach((line, i) => {
    try {
      const record = JSON.parse(line) as { id?: unknown; features?: unknown };
      const features = record.features;
      if (record.id === undefined || !Array.isArray(features) || !features.every((f) => typeof f === 'number')) throw new Error('bad');
      predictions.set(
        record.id,
        features.reduce((a, b) => a + b, 0),
      );
    } catch {
      badLines.push(i + 1);
    }
  });
  return { predictions, badLines };
}

const copies: string[] = [];
afterAll(async () => {
  for (const dir of copies) await rm(dir, { recursive: true, force: true });
});

describe("README's quick start", () => {
  it('is the two commands CI and a new user run: set-up + demo, set-up + the test command .ci/run runs', async () => {
    const commands = await quickStartCommands();
    expect(commands).toHaveLength(2);
    const [demo = '', test = ''] = commands;
    expect(demo).toMatch(/npm run demo/);
    const ci = await readFile(path.join(ROOT, '.ci', 'run'), 'utf8');
    for (const part of test.split('&&').map((p) => p.trim())) {
      expect(
        ci.split('\n').map((l) => l.trim()),
        `.ci/run runs "${part}"`,
      ).toContain(part);
    }
  });

  it('runs the demo command verbatim: every sample record predicted once, the malformed lines reported, a manifest', async () => {
    const [demo = ''] = await quickStartCommands();
    const dir = await copyOfRepository();
    copies.push(dir);
    const { code, output } = await sh(demo, dir);
    expect(code, output).toBe(0);
    expect(output).toContain('setup: node_modules already matches package-lock.json');

    const outputs = await readdir(path.join(dir, 'output'));
    expect(outputs).toHaveLength(1);
    const batch = await readBatchOutput(path.join(dir, 'output'), outputs[0] ?? '');
    const sample = await expectedFromSample(path.join(dir, 'examples', 'sample.jsonl'));
    expect(sample.badLines).toHaveLength(3); // README: "the three deliberately malformed lines"
    expect(batch.errors.map((e) => e.line).sort((a, b) => a - b)).toEqual(sample.badLines);
    expect(batch.predictions).toHaveLength(sample.predictions.size);
    for (const { id, prediction } of batch.predictions) expect(prediction).toBeCloseTo(sample.predictions.get(id) ?? NaN, 9);
    expect(new Set(batch.predictions.map((p) => p.id)).size).toBe(sample.predictions.size);
    expect(batch.files.filter((f) => f.startsWith('part-'))).toHaveLength(4); // 1000 lines, --chunk-size 250
    expect(batch.strays).toEqual([]);
    expect(batch.manifest).toMatchObject({ status: 'completed', total_records: 1000 });
    expect(batch.manifest?.total_cost_usd).toBeGreaterThan(0);
  }, 600_000);
});
