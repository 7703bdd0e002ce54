// Exits 0 when node_modules already holds what package-lock.json asks for, 1 otherwise, so
// scripts/setup.sh can skip `npm ci` (which deletes node_modules first: run again under a test
// suite that is using them, it would pull them away). npm records what it installed in
// node_modules/.package-lock.json; that matches when every package of the lock is there at its
// version and integrity (except optional ones for other platforms, which npm skips), and each is
// still on disk.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

async function packages(file) {
  try {
    return JSON.parse(await readFile(path.join(root, file), 'utf8')).packages ?? {};
  } catch {
    return undefined;
  }
}

const wanted = await packages('package-lock.json');
const installed = await packages('node_modules/.package-lock.json');
if (!wanted || !installed) process.exit(1);

const same = (a, b) => a.version === b.version && a.integrity === b.integrity && a.resolved === b.resolved;
const current =
  Object.entries(wanted).every(
    ([name, entry]) => name === '' || (installed[name] ? same(entry, installed[name]) : entry.optional === true),
  ) && Object.keys(installed).every((name) => name in wanted && existsSync(path.join(root, name, 'package.json')));
process.exit(current ? 0 : 1);
