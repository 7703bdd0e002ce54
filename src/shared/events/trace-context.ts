/**
 * Trace context coming in with a request: which one a request continues, in one function
 * that every HTTP route (JSON API, CloudEvents) uses.
 *
 * Order: the W3C `traceparent` header (the hop that delivered this request, e.g. a Knative
 * broker or PingSource adapter), else a binary CloudEvent's `ce-traceparent`, else a
 * structured CloudEvent's `traceparent` attribute (both: the CloudEvents distributed tracing
 * extension, the context the event was created in). When the header and the event name
 * different traces, the event's context becomes a span link, as the extension's spec asks
 * (transport headers parent the processing; the extension is kept as a link).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { propagation, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import type { Context, Link } from '@opentelemetry/api';

export interface IncomingTrace {
  /** The parent for the spans this request starts (ROOT_CONTEXT when none came in). */
  context: Context;
  /** Other contexts the request referred to (the event's, when it differs from the header's). */
  links: Link[];
}

const header = (headers: IncomingHttpHeaders, name: string): string | undefined => {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
};

function extractCarrier(traceparent: string | undefined, tracestate: string | undefined, baggage?: string): Context | undefined {
  if (!traceparent) return undefined;
  const carrier: Record<string, string> = { traceparent };
  if (tracestate) carrier.tracestate = tracestate;
  if (baggage) carrier.baggage = baggage;
  const ctx = propagation.extract(ROOT_CONTEXT, carrier);
  const spanContext = trace.getSpanContext(ctx);
  return spanContext && trace.isSpanContextValid(spanContext) ? ctx : undefined;
}

/** The `traceparent`/`tracestate` attributes of a structured-mode CloudEvent body, if any. */
function eventAttributes(event: unknown): { traceparent?: string; tracestate?: string } {
  if (typeof event !== 'object' || event === null) return {};
  const { traceparent, tracestate } = event as { traceparent?: unknown; tracestate?: unknown };
  return {
    ...(typeof traceparent === 'string' ? { traceparent } : {}),
    ...(typeof tracestate === 'string' ? { tracestate } : {}),
  };
}

/**
 * The trace an incoming request continues.
 * @param headers - the request's headers (Node lower-cases their names).
 * @param structuredEvent - the parsed body when it is a structured-mode CloudEvent.
 */
export function extractIncomingTrace(headers: IncomingHttpHeaders, structuredEvent?: unknown): IncomingTrace {
  const fromHeader = extractCarrier(header(headers, 'traceparent'), header(headers, 'tracestate'), header(headers, 'baggage'));
  const structured = eventAttributes(structuredEvent);
  const fromEvent =
    extractCarrier(header(headers, 'ce-traceparent'), header(headers, 'ce-tracestate')) ??
    extractCarrier(structured.traceparent, structured.tracestate);
  if (!fromHeader) return { context: fromEvent ?? ROOT_CONTEXT, links: [] };
  const links: Link[] = [];
  const eventSpan = fromEvent ? trace.getSpanContext(fromEvent) : undefined;
  if (eventSpan && eventSpan.traceId !== trace.getSpanContext(fromHeader)?.traceId) links.push({ context: eventSpan });
  return { context: fromHeader, links };
}
