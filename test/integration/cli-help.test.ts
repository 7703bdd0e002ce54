/**
 * Every command answers `--help` (usage, each flag with its default, two examples) and the
 * CLI answers `--version`, with an empty environment: no Redis, no REDIS_URL, no PATH.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SPECS } from '../../src/cli/command-specs.js';
import { COMMANDS } from '../../src/cli/main.js';
import { CLI, ROOT } from '../helpers/cli.js';

/** The built CLI with nothing in its environment. */
function bare(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [CLI, ...args], { env: {}, encoding: 'utf8', timeout: 20_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('--help without any environment', () => {
  it('every command has a spec, and the overview lists them all', () => {
    expect(Object.keys(SPECS).sort()).toEqual(Object.keys(COMMANDS).sort());
    const overview = bare(['--help']);
    expect(overview.code).toBe(0);
    for (const name of Object.keys(COMMANDS)) expect(overview.stdout).toMatch(new RegExp(`^  ${name} `, 'm'));
  });

  it.each(Object.keys(COMMANDS))('batchinfer %s --help: usage, every flag, two examples, exit 0', (name) => {
    const spec = SPECS[name];
    if (!spec) throw new Error(`no spec for ${name}`);
    for (const args of [
      [name, '--help'],
      [name, '-h'],
      ['help', name],
    ]) {
      const result = bare(args);
      expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(0);
      expect(result.stderr).toBe('');
      expect(result.stdout).toMatch(new RegExp(`^usage: batchinfer ${name}`));
      for (const [flag, f] of Object.entries(spec.flags)) {
        const line = result.stdout.split('\n').find((l) => l.includes(`--${flag}`));
        expect(line, `--${flag}`).toBeTruthy();
        if (f.defaultText) expect(line).toContain(`[default: ${f.defaultText}]`);
      }
      const examples = result.stdout.slice(result.stdout.indexOf('Examples:'));
      // Two command lines, each under a `# what it does` line.
      expect(examples.match(/^ {2}(?!# ).*batchinfer /gm)).toHaveLength(2);
      expect(examples.match(/^ {2}# /gm)).toHaveLength(2);
    }
  });

  it('--help wins over a wrong flag next to it', () => {
    const result = bare(['run', '--nonsense', '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^usage: batchinfer run/);
  });

  it('--version prints the package version', () => {
    const { version } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const result = bare([flag]);
      expect(result.code).toBe(0);
      expect(result.stdout).toBe(`batchinfer ${version}\n`);
    }
  });

  it('no command: the overview on stderr, exit 2', () => {
    const result = bare([]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^usage: batchinfer <command>/);
  });
});
