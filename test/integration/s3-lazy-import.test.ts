/**
 * The AWS SDK is heavy, so it is imported only by a process that touches `s3://`: loading the
 * producer's and the consumer's code (with every dataset source and output scheme
 * registered) loads none of it; the first s3 store does. Checked on the compiled modules in
 * a fresh Node process (the SDK is CommonJS, so what loaded shows in the module cache).
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';

const script = `
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const sdkModules = () => Object.keys(require('node:module')._cache).filter((file) => file.includes('@aws-sdk')).length;
await import(${JSON.stringify(path.join(ROOT, 'dist', 'producer', 'producer-service.js'))});
await import(${JSON.stringify(path.join(ROOT, 'dist', 'consumer', 'consumer-service.js'))});
await import(${JSON.stringify(path.join(ROOT, 'dist', 'cli', 'run-command.js'))});
await import(${JSON.stringify(path.join(ROOT, 'dist', 'cli', 'run-batch.js'))});
const before = sdkModules();
const { loadS3Store } = await import(${JSON.stringify(path.join(ROOT, 'dist', 'shared', 'io', 's3', 'load-s3-store.js'))});
await loadS3Store();
console.log(JSON.stringify({ before, after: sdkModules() }));
`;

describe('the AWS SDK', () => {
  it('is not loaded by the producer, the consumer or run until an s3 store is first used', () => {
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    });
    expect(result.status, result.stderr).toBe(0);
    const { before, after } = JSON.parse(result.stdout) as { before: number; after: number };
    expect(before).toBe(0);
    expect(after).toBeGreaterThan(0);
  });
});
