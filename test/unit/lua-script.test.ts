/** The Lua loader: names in a script's spec become its KEY/ARG tables, and a name the Lua reads but the spec lacks is refused at load. */
import { describe, expect, it } from 'vitest';
import { scriptSource } from '../../src/shared/batch/lua-script.js';

const FINISH = {
  file: 'finish',
  keys: ['batch', 'chunks', 'failed', 'gauges', 'active', 'finished'],
  args: ['status', 'completedAt', 'error', 'ttl', 'id', 'nowMs'],
};

describe('scriptSource', () => {
  it('prepends the KEY and ARG tables in the spec order, then the shared files the script uses, then the script', () => {
    const source = scriptSource(FINISH);
    expect(source).toMatch(/^local KEY = \{batch = KEYS\[1\], chunks = KEYS\[2\], failed = KEYS\[3\], gauges = KEYS\[4\]/);
    expect(source).toContain(
      'local ARG = {status = ARGV[1], completedAt = ARGV[2], error = ARGV[3], ttl = ARGV[4], id = ARGV[5], nowMs = ARGV[6]}',
    );
    expect(source).toContain('local FIRST_MORE_ARG = 7');
    expect(source.indexOf('local function leaveActive')).toBeLessThan(source.indexOf("leaveActive('running', ARG.status)"));
  });

  it('refuses a script that reads a key or argument its spec does not name', () => {
    expect(() => scriptSource({ ...FINISH, file: 'halt' })).toThrow(/halt\.lua reads (KEY\.ingesting|ARG\.errorCode)/);
  });
});
