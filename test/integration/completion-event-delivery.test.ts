/**
 * Delivery of a CloudEvent to a real HTTP sink: retried with backoff on 5xx and connection
 * errors, bounded; not retried when the sink refuses it with a 4xx.
 */
import { CloudEvent } from 'cloudevents';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../src/cli/local-redis.js';
import { deliverBinary } from '../../src/shared/events/event-delivery.js';
import { EventSink } from '../helpers/event-sink.js';

const logger = pino({ level: 'silent' });
const fast = { initialDelayMs: 10, maxDelayMs: 40, attemptTimeoutMs: 2000 };
const event = new CloudEvent({
  type: 'dev.batchinfer.test.v1',
  source: '/test',
  id: 'e-1',
  datacontenttype: 'application/json',
  data: { n: 1 },
});

let sink: EventSink | undefined;
afterEach(async () => {
  await sink?.stop();
  sink = undefined;
});

describe('deliverBinary', () => {
  it('retries 5xx and 429 answers until the sink accepts, sending the same event each time', async () => {
    sink = await new EventSink([503, 429, 500, 202]).start();
    const result = await deliverBinary(sink.url, event, logger, fast);
    expect(result).toMatchObject({ delivered: true, attempts: 4, status: 202 });
    expect(sink.requests.map((r) => r.headers['ce-id'])).toEqual(['e-1', 'e-1', 'e-1', 'e-1']);
    expect(sink.requests.map((r) => JSON.parse(r.body) as unknown)).toEqual([{ n: 1 }, { n: 1 }, { n: 1 }, { n: 1 }]);
    expect(sink.accepted()).toHaveLength(1);
  });

  it('does not retry an event the sink refuses (4xx)', async () => {
    sink = await new EventSink([400]).start();
    const result = await deliverBinary(sink.url, event, logger, fast);
    expect(result).toMatchObject({ delivered: false, attempts: 1, status: 400 });
    expect(sink.requests).toHaveLength(1);
  });

  it('gives up after a bounded number of tries when the sink keeps failing', async () => {
    sink = await new EventSink([503]).start();
    const result = await deliverBinary(sink.url, event, logger, { ...fast, maxAttempts: 3 });
    expect(result).toMatchObject({ delivered: false, attempts: 3, status: 503 });
    expect(sink.requests).toHaveLength(3);
  });

  it('retries connection errors, bounded, and reports them', async () => {
    const closedPort = await freePort();
    const result = await deliverBinary(`http://127.0.0.1:${closedPort}/`, event, logger, { ...fast, maxAttempts: 3 });
    expect(result.delivered).toBe(false);
    expect(result.attempts).toBe(3);
    expect(result.error).toBe('ECONNREFUSED');
  });

  it('stops retrying at the deadline', async () => {
    sink = await new EventSink([503]).start();
    const result = await deliverBinary(sink.url, event, logger, { initialDelayMs: 200, maxDelayMs: 200, maxAttempts: 50, deadlineMs: 500 });
    expect(result.delivered).toBe(false);
    expect(result.attempts).toBeLessThan(50);
  });
});
