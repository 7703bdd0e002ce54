// Bundles the compiled CLI (dist/cli.js, from tsc) into dist/bundle/: what the image runs.
// Why: a consumer scaling from zero spends most of its cold start resolving and reading
// hundreds of small module files (bullmq, ioredis, the OTel SDK); one bundle, split so each
// sub-command still loads only its own code, starts markedly faster (BENCHMARKS.md).
import { cp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outdir = path.join(root, 'dist', 'bundle');
await rm(outdir, { recursive: true, force: true });
await build({
  entryPoints: [path.join(root, 'dist', 'cli.js')],
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // CommonJS dependencies call require(), __filename and __dirname; an ESM bundle has none.
  banner: {
    js: [
      "import { createRequire as __bundleRequire } from 'node:module';",
      "import { fileURLToPath as __bundleFileURLToPath } from 'node:url';",
      "import { dirname as __bundleDirname } from 'node:path';",
      'const require = __bundleRequire(import.meta.url);',
      'const __filename = __bundleFileURLToPath(import.meta.url);',
      'const __dirname = __bundleDirname(__filename);',
    ].join(' '),
  },
  // Native add-ons (msgpackr's optional acceleration, onnxruntime's binding) stay in node_modules and load from there.
  external: ['msgpackr-extract', 'onnxruntime-node'],
  legalComments: 'none',
  logLevel: 'warning',
});
// Keeps the bundle an ES module wherever it is copied.
await writeFile(path.join(outdir, 'package.json'), '{ "type": "module" }\n');
// The exporter's page files, read at run time relative to the module serving them: beside
// tsc's output (dist/exporter/page, for benches) and beside the bundle's chunks (dist/bundle/page).
for (const dest of [path.join(root, 'dist', 'exporter', 'page'), path.join(outdir, 'page')]) {
  await rm(dest, { recursive: true, force: true });
  await cp(path.join(root, 'src', 'exporter', 'page'), dest, { recursive: true });
}
// The store's Lua scripts, read at run time relative to the module that loads them
// (src/shared/batch/lua-script.ts): beside tsc's output and beside the bundle's chunks.
for (const dest of [path.join(root, 'dist', 'shared', 'batch', 'lua'), path.join(outdir, 'lua')]) {
  await rm(dest, { recursive: true, force: true });
  await cp(path.join(root, 'src', 'shared', 'batch', 'lua'), dest, { recursive: true });
}
