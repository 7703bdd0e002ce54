// Bundles the compiled CLI (dist/cli.js, from tsc) into dist/bundle/: what the image runs.
// Why: a consumer scaling from zero spends most of its cold start resolving, reading and
// compiling module files (bullmq, ioredis, the OTel SDK); one bundle, split so each
// sub-command still loads only its own code, starts markedly faster (BENCHMARKS.md).
import { cp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Marks every module of `packages` free of import side effects, so esbuild drops the ones no
 * service uses. bullmq's index re-exports its optional PostgreSQL backend (~0.3 MB bundled)
 * and declares no `sideEffects`, so without this every consumer parses it at start.
 */
const withoutSideEffects = (packages) => ({
  name: 'without-side-effects',
  setup(build) {
    build.onResolve({ filter: /.*/ }, async (args) => {
      if (args.pluginData === 'resolved') return undefined;
      if (!packages.some((name) => args.path === name || args.importer.includes(`/node_modules/${name}/`))) return undefined;
      const resolved = await build.resolve(args.path, {
        kind: args.kind,
        importer: args.importer,
        resolveDir: args.resolveDir,
        pluginData: 'resolved',
      });
      // Unresolvable optional peers (pg, valkey-glide) keep esbuild's own handling.
      if (resolved.errors.length > 0) return undefined;
      return { path: resolved.path, external: resolved.external, namespace: resolved.namespace, sideEffects: false };
    });
  },
});

/**
 * Serves `node:http` to the bundle from `require('node:http')`, with its exports named here.
 * Node 22's own ES module facade of `node:http` reads every export, and its lazy
 * `WebSocket`/`MessageEvent` getters load undici: an `import` of it costs ~150 ms more than a
 * `require` at start (Node 22.23, the image's runtime; Node 20 has no such getters). An
 * export used but missing here fails the build (esbuild checks named imports).
 */
const HTTP_EXPORTS = [
  'Agent',
  'ClientRequest',
  'IncomingMessage',
  'METHODS',
  'OutgoingMessage',
  'STATUS_CODES',
  'Server',
  'ServerResponse',
  'createServer',
  'get',
  'globalAgent',
  'maxHeaderSize',
  'request',
  'setMaxIdleHTTPParsers',
  'validateHeaderName',
  'validateHeaderValue',
];
const httpThroughRequire = {
  name: 'http-through-require',
  setup(build) {
    build.onResolve({ filter: /^(node:)?http$/ }, () => ({ path: 'node:http', namespace: 'http-through-require' }));
    build.onLoad({ filter: /.*/, namespace: 'http-through-require' }, () => ({
      contents: [
        "import { createRequire } from 'node:module';",
        "const http = createRequire(import.meta.url)('node:http');",
        'export default http;',
        `export const { ${HTTP_EXPORTS.join(', ')} } = http;`,
      ].join('\n'),
      loader: 'js',
    }));
  },
};

/** The esbuild options of the image's bundle (bench/cold-start-steps.mjs varies them). */
export const bundleOptions = (outdir) => ({
  entryPoints: [path.join(root, 'dist', 'cli.js')],
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // ESM builds first: most OTel packages ship one (`module`), and an ES module bundle of them
  // tree-shakes and evaluates far faster than their CommonJS builds wrapped in require shims;
  // minified, there is less to read and parse at start (BENCHMARKS.md, cold start).
  mainFields: ['module', 'main'],
  minify: true,
  // Class and function names survive minifying: errors name themselves after their class
  // (src/shared/errors.ts) and pino logs `err.type` from it.
  keepNames: true,
  plugins: [withoutSideEffects(['bullmq']), httpThroughRequire],
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
  external: [
    // Native add-ons (optional accelerations) stay in node_modules and load from there.
    'msgpackr-extract',
    // onnxruntime's native binding, loaded only by a consumer that runs an onnx: model.
    'onnxruntime-node',
    // Loaded from node_modules, and only when OTEL_EXPORTER_OTLP_PROTOCOL=grpc: the OTel gRPC
    // exporters require it lazily, and bundled it would sit (~0.4 MB) in every traced start.
    '@grpc/grpc-js',
  ],
  legalComments: 'none',
  logLevel: 'warning',
});

/**
 * Files read at run time relative to the module that reads them, so they sit beside tsc's
 * output and beside the bundle's chunks: the exporter's page files and the store's Lua
 * scripts (src/shared/batch/lua-script.ts). [source, folder beside tsc's output, folder in the bundle]
 */
const RUNTIME_FILES = [
  ['src/exporter/page', 'dist/exporter/page', 'page'],
  ['src/shared/batch/lua', 'dist/shared/batch/lua', 'lua'],
];

async function copyFolder(from, to) {
  await rm(to, { recursive: true, force: true });
  await cp(path.join(root, from), to, { recursive: true });
}

/** Builds the bundle into `outdir`, with the files it reads at run time. */
export async function bundle(outdir, options = bundleOptions(outdir)) {
  await rm(outdir, { recursive: true, force: true });
  await build(options);
  // Keeps the bundle an ES module wherever it is copied.
  await writeFile(path.join(outdir, 'package.json'), '{ "type": "module" }\n');
  for (const [from, , inBundle] of RUNTIME_FILES) await copyFolder(from, path.join(outdir, inBundle));
}

// Run as a script (`npm run build`): the image's bundle in dist/bundle/, and the run-time
// files beside tsc's output too (for benches and tests that load dist/ directly).
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await bundle(path.join(root, 'dist', 'bundle'));
  for (const [from, besideTsc] of RUNTIME_FILES) await copyFolder(from, path.join(root, besideTsc));
}
