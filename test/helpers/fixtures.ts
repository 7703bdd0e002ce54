/**
 * The set-up most integration tests share, as vitest fixtures (`test.extend`): a private
 * redis-server, a scratch folder, environments for the services with a fresh queue prefix,
 * and the `batchinfer` services themselves, each torn down by vitest in the right order
 * (services before the Redis they use). A fixture is only set up when a test, or a hook of
 * the extended `test`, asks for it by name.
 *
 * File-scoped fixtures live for the whole test file and are available to `test.beforeAll`;
 * `services` is per test, so a test's processes never outlive it.
 */
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Redis } from 'ioredis';
import { test as base } from 'vitest';
import type { LocalRedisOptions } from '../../src/cli/local-redis.js';
import { probeChunkQueue } from './chunk-queue.js';
import type { QueueProbe } from './chunk-queue.js';
import { startService } from './cli.js';
import type { RunningService } from './cli.js';
import { connect, freshPrefix, startTestRedis } from './redis.js';
import type { LocalRedis } from './redis.js';

/** Environment of a `batchinfer` service; `undefined` removes a variable. */
export type ServiceEnv = Record<string, string | undefined>;

/** Services started through it are stopped together when its scope ends. */
export class ServiceGroup {
  private readonly running: RunningService[] = [];

  /** Starts `batchinfer <command>` and waits for its /healthz (see {@link startService}). */
  async start(command: string, env: ServiceEnv): Promise<RunningService> {
    const service = await startService(command, env);
    this.running.push(service);
    return service;
  }

  /**
   * Stops every service started so far. SIGCONT first, for a test that paused one; SIGKILL
   * by default because teardown is not what is tested: tests about shutdown send their own
   * signal (`service.stop('SIGTERM')`) and assert on what follows.
   */
  async stopAll(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const stopping = this.running.splice(0);
    for (const s of stopping) s.process.kill('SIGCONT');
    await Promise.all(stopping.map((s) => s.stop(signal)));
  }
}

/**
 * The variables every service of a test needs: this file's Redis, a fresh queue prefix,
 * outputs under `<workDir>/out`, file datasets allowed; `extra` adds or overrides
 * (`undefined` leaves a variable out, so the service's default applies).
 */
export type ServiceEnvFactory = (extra?: ServiceEnv & { REDIS_URL?: string; QUEUE_PREFIX?: string }) => PipelineEnv;

/** A service environment whose Redis and queue prefix are always set. */
export type PipelineEnv = Record<string, string> & { REDIS_URL: string; QUEUE_PREFIX: string };

// vitest reads each fixture's first parameter as a destructuring pattern, so the ones that
// need no other fixture take `{}`.
/* eslint-disable no-empty-pattern */
export const test = base
  .extend('workDir', { scope: 'file' }, async () => mkdtemp(path.join(os.tmpdir(), 'bi-test-')))
  /** How the file's redis-server runs; a file changes it with `it.override('redisOptions', …)`. */
  .extend('redisOptions', { scope: 'file' }, (): LocalRedisOptions => ({}))
  .extend('redis', { scope: 'file' }, async ({ redisOptions }, { onCleanup }): Promise<LocalRedis> => {
    const server = await startTestRedis(redisOptions);
    onCleanup(() => server.stop());
    return server;
  })
  /** An ioredis client of the file's Redis, for tests that read or seed keys directly. */
  .extend('redisClient', { scope: 'file' }, ({ redis }, { onCleanup }): Redis => {
    const client = connect(redis.url);
    onCleanup(async () => {
      await client.quit();
    });
    return client;
  })
  .extend('serviceEnv', { scope: 'file' }, ({ redis, workDir }): ServiceEnvFactory => {
    return (extra = {}) => {
      const env: ServiceEnv = {
        REDIS_URL: redis.url,
        QUEUE_PREFIX: freshPrefix(),
        OUTPUT_URL: pathToFileURL(path.join(workDir, 'out')).toString(),
        DATASET_ALLOWED_SCHEMES: 'file',
        ...extra,
      };
      for (const [name, value] of Object.entries(env)) if (value === undefined) delete env[name];
      return env as PipelineEnv;
    };
  })
  /** Services shared by every test of the file (start them in `test.beforeAll`). */
  .extend('fileServices', { scope: 'file' }, ({}, { onCleanup }): ServiceGroup => {
    const group = new ServiceGroup();
    onCleanup(() => group.stopAll());
    return group;
  })
  /** Opens a look into a prefix's chunk queue (see {@link probeChunkQueue}), closed when the test ends. */
  .extend('probeQueue', ({ redis }, { onCleanup }): ((prefix: string) => QueueProbe) => {
    const probes: QueueProbe[] = [];
    onCleanup(async () => {
      await Promise.all(probes.map((p) => p.close()));
    });
    return (prefix) => {
      const probe = probeChunkQueue(redis.url, prefix);
      probes.push(probe);
      return probe;
    };
  })
  /** Services of one test, stopped when it ends. */
  .extend('services', ({}, { onCleanup }): ServiceGroup => {
    const group = new ServiceGroup();
    onCleanup(() => group.stopAll());
    return group;
  });
/* eslint-enable no-empty-pattern */

/** The same extended test, under the name most files here use. */
export const it = test;
