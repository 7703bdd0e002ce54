import { propagation, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import type { Context } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildChunkEvent, readChunkEvent } from '../../src/shared/events/chunk-event.js';
import { extractIncomingTrace } from '../../src/shared/events/trace-context.js';

const T1 = '0af7651916cd43dd8448eb211c80319c';
const T2 = '4bf92f3577b34da6a3ce929d0e0e4736';
const tp = (traceId: string, spanId = 'b7ad6b7169203331'): string => `00-${traceId}-${spanId}-01`;
const traceIdOf = (ctx: Context): string | undefined => trace.getSpanContext(ctx)?.traceId;

// The propagator the SDK installs when tracing is on (W3C trace context).
beforeAll(() => propagation.setGlobalPropagator(new W3CTraceContextPropagator()));
afterAll(() => propagation.disable());

describe('extractIncomingTrace', () => {
  it('continues a W3C traceparent header', () => {
    const { context, links } = extractIncomingTrace({ traceparent: tp(T1), tracestate: 'vendor=1' });
    expect(trace.getSpanContext(context)).toMatchObject({ traceId: T1, spanId: 'b7ad6b7169203331', isRemote: true });
    expect(trace.getSpanContext(context)?.traceState?.get('vendor')).toBe('1');
    expect(links).toEqual([]);
  });

  it("continues a binary CloudEvent's ce-traceparent", () => {
    expect(traceIdOf(extractIncomingTrace({ 'ce-traceparent': tp(T2) }).context)).toBe(T2);
  });

  it("continues a structured CloudEvent's traceparent attribute", () => {
    const event = { specversion: '1.0', id: '1', source: '/s', type: 't', traceparent: tp(T2) };
    expect(traceIdOf(extractIncomingTrace({ 'content-type': 'application/cloudevents+json' }, event).context)).toBe(T2);
  });

  it("prefers the HTTP header and links the event's own trace when they differ", () => {
    const { context, links } = extractIncomingTrace({ traceparent: tp(T1), 'ce-traceparent': tp(T2) });
    expect(traceIdOf(context)).toBe(T1);
    expect(links.map((l) => l.context.traceId)).toEqual([T2]);
  });

  it('starts a new trace when nothing (valid) came in', () => {
    expect(extractIncomingTrace({}).context).toBe(ROOT_CONTEXT);
    expect(extractIncomingTrace({ traceparent: 'garbage' }, { traceparent: 42 }).context).toBe(ROOT_CONTEXT);
    // A malformed header does not hide a valid event context.
    expect(traceIdOf(extractIncomingTrace({ traceparent: 'garbage', 'ce-traceparent': tp(T2) }).context)).toBe(T2);
  });
});

describe('chunk event trace context', () => {
  it('carries the context it was built in to the consumer', () => {
    const ctx = propagation.extract(ROOT_CONTEXT, { traceparent: tp(T1), tracestate: 'vendor=1' });
    const event = buildChunkEvent(
      { batchId: 'b', chunkIndex: 0, firstLine: 1, records: [], format: 'jsonl', model: 'sum', outputUrl: 'file:///tmp' },
      ctx,
    );
    expect(event).toMatchObject({ traceparent: tp(T1), tracestate: 'vendor=1' });
    expect(traceIdOf(readChunkEvent(JSON.parse(JSON.stringify(event))).parentContext)).toBe(T1);
  });
});
