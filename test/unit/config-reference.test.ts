/**
 * The configuration reference (docs/configuration.md) is generated from the variable
 * definitions; these tests keep the page, the definitions and what loadConfig reads the same
 * set of variables, with the defaults the page shows.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONFIG_SECTIONS, CONFIG_VARIABLES, loadConfig } from '../../src/shared/config/config.js';
import type { Config, Env } from '../../src/shared/config/config.js';
import { CONFIG_REFERENCE_COMMAND, CONFIG_REFERENCE_PATH, renderConfigReference } from '../../src/shared/config/reference.js';
import { ROOT } from '../helpers/cli.js';

/** Every variable name loadConfig looks at, set or not. */
function namesLoadConfigReads(): Set<string> {
  const seen = new Set<string>();
  const env = new Proxy<Env>(
    {},
    {
      get(_target, name) {
        if (typeof name === 'string') seen.add(name);
        return undefined;
      },
    },
  );
  loadConfig(env);
  return seen;
}

/** The config without `explicitlySet`, to compare values. */
function values(config: Config): Partial<Config> {
  return { ...config, explicitlySet: undefined };
}

describe('configuration reference', () => {
  it(`is up to date in ${CONFIG_REFERENCE_PATH}`, () => {
    const committed = readFileSync(path.join(ROOT, CONFIG_REFERENCE_PATH), 'utf8');
    expect(committed, `${CONFIG_REFERENCE_PATH} differs from the definitions: run \`${CONFIG_REFERENCE_COMMAND}\``).toBe(
      renderConfigReference(),
    );
  });

  it('defines exactly the variables loadConfig reads (plus those only the OTel exporter or the AWS SDK reads)', () => {
    const readHere = CONFIG_VARIABLES.filter((v) => v.readHere).map((v) => v.name);
    expect([...namesLoadConfigReads()].sort()).toEqual([...readHere].sort());
    const libraryOnly = CONFIG_VARIABLES.filter((v) => !v.readHere).map((v) => v.name);
    expect(libraryOnly.every((name) => /^(OTEL|AWS)_/.test(name))).toBe(true);
  });

  it('defines each variable once, with the commands it affects and a one-line description', () => {
    const names = CONFIG_VARIABLES.map((v) => v.name);
    expect(new Set(names).size).toBe(names.length);
    for (const v of CONFIG_VARIABLES) {
      expect(v.name).toMatch(/^[A-Z][A-Z0-9_]+$/);
      expect(v.services.length, v.name).toBeGreaterThan(0);
      expect(v.doc.trim(), v.name).not.toBe('');
      expect(`${v.doc}${v.note ?? ''}${v.shownDefault}`, v.name).not.toMatch(/\n/);
    }
    expect(CONFIG_SECTIONS.every((s) => s.variables.length > 0)).toBe(true);
  });

  it('lists the variables users asked after, each in a table row of the page', () => {
    const page = renderConfigReference();
    for (const name of ['MODEL_ROOT', 'QUEUE_PREFIX', 'BATCHINFER_SERVER', 'K_SERVICE', 'K_SINK', 'OTEL_EXPORTER_OTLP_ENDPOINT']) {
      expect(page).toContain(`| \`${name}\` |`);
    }
    for (const v of CONFIG_VARIABLES) expect(page, v.name).toContain(`| \`${v.name}\` |`);
  });

  it('shows defaults that are the defaults: setting a variable to its shown default changes nothing', () => {
    const unset = values(loadConfig({}));
    const names = new Set(CONFIG_VARIABLES.map((v) => v.name));
    let checked = 0;
    for (const v of CONFIG_VARIABLES.filter((x) => x.readHere)) {
      // A literal default: `value`, optionally followed by a hint in parentheses.
      const literal = /^`([^`]+)`(?: \(.*\))?$/.exec(v.shownDefault)?.[1];
      if (literal === undefined || names.has(literal) || literal.includes('<')) continue;
      expect(values(loadConfig({ [v.name]: literal })), `${v.name}=${literal}`).toEqual(unset);
      checked++;
    }
    expect(checked).toBeGreaterThan(40);
  });
});

describe('environment access', () => {
  /** `process.env.X`, `process.env[X]`, `const { X } = process.env`: reads outside the config module. */
  const READ = /process\.env\s*(?:\?\.|\.|\[)|\}\s*=\s*process\.env\b/;

  function sourceFiles(dir: string): string[] {
    return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) return sourceFiles(file);
      return file.endsWith('.ts') ? [file] : [];
    });
  }

  it('happens only in src/shared/config/ (passing process.env on to a child process is fine)', () => {
    const configDir = path.join(ROOT, 'src', 'shared', 'config');
    const offenders = sourceFiles(path.join(ROOT, 'src'))
      .filter((file) => !file.startsWith(configDir + path.sep))
      .filter((file) => READ.test(readFileSync(file, 'utf8')))
      .map((file) => path.relative(ROOT, file));
    expect(offenders).toEqual([]);
  });

  it('the check does find a read', () => {
    expect(READ.test('const server = process.env.BATCHINFER_SERVER;')).toBe(true);
    expect(READ.test("const token = process.env['API_TOKEN'];")).toBe(true);
    expect(READ.test('const { API_TOKEN } = process.env;')).toBe(true);
    expect(READ.test('spawn(cli, [], { env: { ...process.env, PORT: "0" } });')).toBe(false);
  });
});
