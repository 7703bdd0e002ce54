// Issue 15: what each bundle-layout step gains at a consumer's cold start (tracing on). Builds
// one bundle per step into bench/data/cold-start-steps/, each step adding one change to the
// previous, the last being the image's (scripts/bundle.mjs), then times them all in the same
// rounds as bare node (bench/cold-start.mjs; the compile cache, on Node ≥ 22.1, is measured
// there as its own step).
// Usage: npm run build && node bench/cold-start-steps.mjs [runs=5]
import { spawn } from 'node:child_process';
import path from 'node:path';
import { bundle, bundleOptions } from '../scripts/bundle.mjs';
import { DATA, ROOT } from './lib.mjs';

const runs = process.argv[2] ?? '5';
const dir = path.join(DATA, 'cold-start-steps');

/** Imports sdk-node through its package index, as before NodeSDK came from its own module. */
const sdkNodeIndex = {
  name: 'sdk-node-index',
  setup(build) {
    build.onResolve({ filter: /^@opentelemetry\/sdk-node\/build\/src\/sdk\.js$/ }, (args) =>
      build.resolve('@opentelemetry/sdk-node', { kind: args.kind, resolveDir: args.resolveDir }),
    );
  },
};

// Each step: a name and how it differs from the image's options (each later step undoes less).
const without = (o, name) => o.plugins.filter((p) => p.name !== name);
const steps = [
  ['1-cjs', (o) => ({ ...o, mainFields: ['main', 'module'], minify: false, plugins: [sdkNodeIndex], external: ['msgpackr-extract'] })],
  ['2-esm-min', (o) => ({ ...o, plugins: [sdkNodeIndex], external: ['msgpackr-extract'] })],
  ['3-sdk-module', (o) => ({ ...o, plugins: [], external: ['msgpackr-extract'] })],
  ['4-grpc-external', (o) => ({ ...o, plugins: [] })],
  ['5-bullmq-pure', (o) => ({ ...o, plugins: without(o, 'http-through-require') })],
  ['6-http-require', (o) => o],
];
const bundles = [];
for (const [name, vary] of steps) {
  const outdir = path.join(dir, name);
  await bundle(outdir, vary(bundleOptions(outdir)));
  bundles.push(`${name}=${path.join(outdir, 'cli.js')}`);
}
const child = spawn(process.execPath, [path.join(ROOT, 'bench', 'cold-start.mjs'), runs], {
  env: { ...process.env, COLD_START_BUNDLES: bundles.join(',') },
  stdio: 'inherit',
});
process.exitCode = await new Promise((resolve) => child.once('exit', resolve));
