import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/shared/config.js';
import { ConfigError } from '../../src/shared/errors.js';

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('has the documented defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      port: 8080,
      model: 'sum',
      chunkSize: 1000,
      queuePrefix: '{batchinfer}',
      datasetAllowedSchemes: ['http', 'https'],
      datasetAllowPrivateNetworks: false,
      costPerCpuHour: 0.04,
      costPerMemoryGbHour: 0.005,
      cpuLimitCores: 0.5,
      memoryLimitGiB: 0.5,
      logLevel: 'info',
      cloudEventsRequireToken: true,
    });
    expect(c.redisUrl).toBeUndefined();
  });

  it.each([
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['CHUNK_SIZE', '0'],
    ['CPU_LIMIT', 'lots'],
    ['MEMORY_LIMIT', '-1'],
    ['COST_PER_CPU_HOUR', 'free'],
    ['DATASET_ALLOW_PRIVATE_NETWORKS', 'maybe'],
    ['LOG_LEVEL', 'loud'],
    ['CLOUDEVENTS_REQUIRE_TOKEN', 'sometimes'],
    ['REDIS_URL', 'http://x'],
    ['K_SINK', 'not a url'],
    ['K_CE_OVERRIDES', '{"extensions": 3}'],
  ])('names %s when its value %s is malformed', (name, value) => {
    const err = configError({ [name]: value });
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.variable).toBe(name);
  });

  it('never echoes a malformed REDIS_URL (it may hold a password)', () => {
    const err = configError({ REDIS_URL: 'secret-password@@' });
    expect(err.message).not.toContain('secret-password');
  });

  it('lets CLOUDEVENTS_REQUIRE_TOKEN open POST / for sources that cannot send a token', () => {
    expect(loadConfig({ CLOUDEVENTS_REQUIRE_TOKEN: 'false' }).cloudEventsRequireToken).toBe(false);
  });

  it('reads K_CE_OVERRIDES extensions', () => {
    expect(loadConfig({ K_CE_OVERRIDES: '{"extensions":{"team":"risk"}}' }).kCeOverrides).toEqual({ team: 'risk' });
  });
});
