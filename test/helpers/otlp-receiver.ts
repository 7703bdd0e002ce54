/**
 * A real OTLP/HTTP trace receiver for tests: an HTTP server on 127.0.0.1 that decodes the
 * JSON encoding of ExportTraceServiceRequest (the exporter's `http/json` protocol), as an
 * OpenTelemetry collector would, and keeps every span with its resource. Protobuf exports
 * (`http/protobuf`, the default protocol) are accepted and counted, not decoded.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** OTLP JSON AnyValue. */
interface AnyValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
  arrayValue?: { values?: AnyValue[] };
}
interface KeyValue {
  key: string;
  value: AnyValue;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes?: KeyValue[];
  links?: Array<{ traceId: string; spanId: string }>;
  events?: Array<{ name: string; attributes?: KeyValue[] }>;
  status?: { code?: number; message?: string };
  startTimeUnixNano: string;
  endTimeUnixNano: string;
}
interface ExportRequest {
  resourceSpans?: Array<{
    resource?: { attributes?: KeyValue[] };
    scopeSpans?: Array<{ spans?: OtlpSpan[] }>;
  }>;
}

export type AttributeValue = string | number | boolean | AttributeValue[] | undefined;

/** A received span, attributes decoded to plain values. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  name: string;
  /** OTLP SpanKind: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  attributes: Record<string, AttributeValue>;
  resource: Record<string, AttributeValue>;
  links: Array<{ traceId: string; spanId: string }>;
  statusCode: number;
  startNs: bigint;
  endNs: bigint;
}

export const SPAN_KIND = { internal: 1, server: 2, client: 3, producer: 4, consumer: 5 } as const;

function decode(value: AnyValue | undefined): AttributeValue {
  if (!value) return undefined;
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.arrayValue) return (value.arrayValue.values ?? []).map(decode);
  return undefined;
}

const toRecord = (kvs: KeyValue[] | undefined): Record<string, AttributeValue> =>
  Object.fromEntries((kvs ?? []).map((kv) => [kv.key, decode(kv.value)]));

export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  /** Export requests received (each a batch of spans). */
  requests = 0;
  /** Protobuf-encoded export requests received, and their bytes. */
  protobuf = { requests: 0, bytes: 0 };
  private server: http.Server | undefined;
  url = '';

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (d: Buffer) => parts.push(d));
      req.on('end', () => {
        const type = String(req.headers['content-type']);
        if (req.method !== 'POST' || req.url !== '/v1/traces') {
          res.writeHead(404).end();
          return;
        }
        if (type === 'application/x-protobuf') {
          this.protobuf.requests++;
          this.protobuf.bytes += Buffer.concat(parts).length;
          // An empty ExportTraceServiceResponse: full success.
          res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
          return;
        }
        if (!type.includes('json')) {
          res.writeHead(415).end();
          return;
        }
        this.requests++;
        this.ingest(JSON.parse(Buffer.concat(parts).toString('utf8')) as ExportRequest);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  private ingest(body: ExportRequest): void {
    for (const rs of body.resourceSpans ?? []) {
      const resource = toRecord(rs.resource?.attributes);
      for (const ss of rs.scopeSpans ?? []) {
        for (const s of ss.spans ?? []) {
          this.spans.push({
            traceId: s.traceId,
            spanId: s.spanId,
            parentSpanId: s.parentSpanId || undefined,
            name: s.name,
            kind: s.kind,
            attributes: toRecord(s.attributes),
            resource,
            links: (s.links ?? []).map((l) => ({ traceId: l.traceId, spanId: l.spanId })),
            statusCode: s.status?.code ?? 0,
            startNs: BigInt(s.startTimeUnixNano),
            endNs: BigInt(s.endTimeUnixNano),
          });
        }
      }
    }
  }

  /** Spans of one service (`service.name`). */
  ofService(name: string): ReceivedSpan[] {
    return this.spans.filter((s) => s.resource['service.name'] === name);
  }

  /** Environment that makes a batchinfer process export here (OTLP/HTTP JSON). */
  env(serviceName?: string): Record<string, string> {
    return {
      OTEL_EXPORTER_OTLP_ENDPOINT: this.url,
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
      OTEL_TRACES_EXPORTER: 'otlp',
      ...(serviceName ? { OTEL_SERVICE_NAME: serviceName } : {}),
    };
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      if (!this.server) return resolve();
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

/** The ancestors of `span` found among `spans`, nearest first. */
export function ancestors(span: ReceivedSpan, spans: readonly ReceivedSpan[]): ReceivedSpan[] {
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const out: ReceivedSpan[] = [];
  let parent = span.parentSpanId ? byId.get(span.parentSpanId) : undefined;
  while (parent && out.length < 100) {
    out.push(parent);
    parent = parent.parentSpanId ? byId.get(parent.parentSpanId) : undefined;
  }
  return out;
}
