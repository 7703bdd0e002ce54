/**
 * Node's on-disk compile cache (Node ≥ 22.1, the image's runtime): V8 keeps the code it
 * compiled for each module, so the next start reads it instead of parsing and compiling the
 * bundle again. At a consumer's cold start compiling is the largest single cost after
 * start-up itself (BENCHMARKS.md, cold start); the image warms the cache at build time.
 *
 * The directory is Node's own choice: `NODE_COMPILE_CACHE` when set (the image sets it),
 * else `<tmpdir>/node-compile-cache`. Entries are keyed by file content, so a stale cache is
 * never used. `NODE_DISABLE_COMPILE_CACHE=1` turns it off. On Node 20 this does nothing.
 */
import module from 'node:module';

interface CompileCacheApi {
  enableCompileCache?: () => unknown;
}

export function enableCompileCache(): void {
  // Not in Node 20's types: present from 22.1 on.
  (module as CompileCacheApi).enableCompileCache?.();
}
