/**
 * The store's Lua files travel with the build: `npm run build` puts each one beside tsc's
 * output and beside the bundle's chunks (what the image runs), byte for byte, and the bundle
 * chunk that reads them looks for them where they are.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SOURCE = path.join(ROOT, 'src', 'shared', 'batch', 'lua');

describe('the store scripts in the build', () => {
  const files = readdirSync(SOURCE).filter((f) => f.endsWith('.lua'));

  it.each([path.join('dist', 'shared', 'batch', 'lua'), path.join('dist', 'bundle', 'lua')])('are all in %s, unchanged', (dir) => {
    expect(files.length).toBeGreaterThan(0);
    for (const file of files)
      expect(readFileSync(path.join(ROOT, dir, file), 'utf8'), file).toBe(readFileSync(path.join(SOURCE, file), 'utf8'));
  });

  it('are read by a bundle chunk that sits beside dist/bundle/lua', () => {
    const bundle = path.join(ROOT, 'dist', 'bundle');
    const loaders = readdirSync(bundle).filter((f) => f.endsWith('.js') && readFileSync(path.join(bundle, f), 'utf8').includes('"./lua/"'));
    expect(loaders).toHaveLength(1);
  });
});
