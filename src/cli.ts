#!/usr/bin/env node
/**
 * `batchinfer`: one CLI, one sub-command per service (the container's entrypoint) plus the
 * local `run` and the client commands. Sub-commands are loaded lazily so a consumer cold
 * start does not pay for the producer's modules, and vice versa.
 */
import { enableCompileCache } from './shared/observability/compile-cache.js';

// Before anything else is loaded, so every module after this one can come from the cache.
enableCompileCache();
const { main } = await import('./cli/main.js');
process.exitCode = await main(process.argv.slice(2));
