import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, prettyFormatter } from '../../src/shared/observability/logger.js';

describe('logger', () => {
  it('writes JSON lines with the service name and no trace fields outside a span', () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (d: Buffer) => (text += d.toString()));
    const logger = createLogger({ service: 'consumer', level: 'info', destination: out });
    logger.child({ batch_id: 'b1', chunk_index: 3 }).info({ token: 'secret' }, 'chunk done');
    const line = JSON.parse(text) as Record<string, unknown>;
    expect(line).toMatchObject({ service: 'consumer', batch_id: 'b1', chunk_index: 3, msg: 'chunk done', token: '[redacted]' });
    expect(line.trace_id).toBeUndefined();
  });

  it('redacts AWS credentials, should an SDK object reach a log call', () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (d: Buffer) => (text += d.toString()));
    const logger = createLogger({ service: 'producer', level: 'info', destination: out });
    const credentials = { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'secret-key', sessionToken: 'session' };
    logger.info({ credentials, client: { credentials }, config: { secretAccessKey: 'secret-key', sessionToken: 'session' } }, 'x');
    expect(text).not.toContain('secret-key');
    expect(text).not.toContain('session"');
    expect(JSON.parse(text)).toMatchObject({ credentials: '[redacted]', config: { secretAccessKey: '[redacted]' } });
  });

  it('formats JSON lines for people on a terminal and leaves other lines alone', async () => {
    const format = await prettyFormatter(false);
    const text = format(
      JSON.stringify({ level: 40, time: '2025-01-01T00:00:00.000Z', service: 'consumer', batch_id: 'b1', msg: 'chunk attempt failed' }),
    );
    expect(text).toContain('WARN');
    expect(text).toContain('chunk attempt failed');
    expect(text).toContain('b1');
    expect(text.trimStart().startsWith('{')).toBe(false);
    expect(format('consumer exited (code 1)')).toBe('consumer exited (code 1)');
  });
});
