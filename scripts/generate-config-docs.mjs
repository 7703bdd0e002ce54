// Writes docs/configuration.md from the variable definitions in src/shared/config/ (compiled
// to dist/ by `tsc`, which `npm run docs:config` runs first). With --check, writes nothing and
// exits 1 when the committed page differs; test/unit/config-reference.test.ts checks the same.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { renderConfigReference, CONFIG_REFERENCE_PATH, CONFIG_REFERENCE_COMMAND } = await import(
  path.join(root, 'dist', 'shared', 'config', 'reference.js')
);
const target = path.join(root, CONFIG_REFERENCE_PATH);
const page = renderConfigReference();
if (process.argv.includes('--check')) {
  const committed = await readFile(target, 'utf8').catch(() => '');
  if (committed !== page) {
    process.stderr.write(`${CONFIG_REFERENCE_PATH} is out of date: run \`${CONFIG_REFERENCE_COMMAND}\`\n`);
    process.exit(1);
  }
} else {
  await writeFile(target, page);
  process.stdout.write(`wrote ${CONFIG_REFERENCE_PATH}\n`);
}
