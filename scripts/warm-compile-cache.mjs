// Fills Node's compile cache (Node ≥ 22.1) for every module of a bundle, so a process started
// later reads V8's compiled code instead of parsing and compiling it (BENCHMARKS.md, cold
// start). The image runs it at build time, with NODE_COMPILE_CACHE naming the directory.
// Compiling is what gets cached (V8 makes each entry when it compiles a module), so loading
// each module is enough: no service has to run. The entry (cli.js) is left out: loading it
// runs the CLI; it is a few lines.
// Usage: NODE_COMPILE_CACHE=DIR node scripts/warm-compile-cache.mjs [bundle dir=dist/bundle]
import module from 'node:module';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const dir = path.resolve(process.argv[2] ?? 'dist/bundle');
if (typeof module.enableCompileCache !== 'function') throw new Error(`Node ${process.version} has no compile cache (22.1+)`);
const { status, directory } = module.enableCompileCache();
let loaded = 0;
for (const file of (await readdir(dir)).sort()) {
  if (!file.endsWith('.js') || file === 'cli.js') continue;
  await import(pathToFileURL(path.join(dir, file)).href);
  loaded++;
}
module.flushCompileCache?.();
process.stdout.write(`compile cache ${directory} (status ${status}): ${loaded} modules of ${dir}\n`);
