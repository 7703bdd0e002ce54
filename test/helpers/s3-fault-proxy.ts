/**
 * An HTTP proxy in front of a test S3 server that misbehaves on demand, as a store or the
 * network between does: answers `503 SlowDown`, or cuts a response mid-body (and can change
 * the store just before, to replace an object under a reader). It records every request with
 * the status the client got, so tests can see how the client retried and resumed.
 */
import http from 'node:http';
import { closeServer, listen } from '../../src/shared/http/health-server.js';

export type ProxyFault =
  /** Answer this status with an S3 error body (`SlowDown` for 503) instead of forwarding. */
  | { status: number }
  /** Forward, but cut the connection after this many body bytes; `onCut` runs just before the cut. */
  | { cutAfterBytes: number; onCut?: () => Promise<void> };

export interface ProxiedRequest {
  method: string;
  path: string;
  range: string | undefined;
  ifMatch: string | undefined;
  status: number;
}

const ERROR_CODES: Record<number, string> = { 503: 'SlowDown', 500: 'InternalError' };

export class S3FaultProxy {
  readonly requests: ProxiedRequest[] = [];
  private readonly faults: { method: string; fault: ProxyFault }[] = [];
  private readonly server = http.createServer((req, res) => this.handle(req, res));
  url = '';

  constructor(private readonly target: string) {}

  async start(): Promise<this> {
    this.url = `http://127.0.0.1:${await listen(this.server, 0, '127.0.0.1')}`;
    return this;
  }

  /** The next requests of `method` meet these faults, in order. */
  failNext(method: string, ...faults: ProxyFault[]): void {
    for (const fault of faults) this.faults.push({ method, fault });
  }

  /** Requests of `method` (GET, PUT, ...), in order. */
  requestsOf(method: string): ProxiedRequest[] {
    return this.requests.filter((r) => r.method === method);
  }

  private takeFault(method: string): ProxyFault | undefined {
    const i = this.faults.findIndex((f) => f.method === method);
    return i === -1 ? undefined : this.faults.splice(i, 1)[0]?.fault;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const method = req.method ?? 'GET';
    const record: ProxiedRequest = {
      method,
      path: req.url ?? '/',
      range: req.headers.range,
      ifMatch: req.headers['if-match'],
      status: 0,
    };
    this.requests.push(record);
    const fault = this.takeFault(method);
    if (fault && 'status' in fault) {
      req.resume();
      record.status = fault.status;
      const code = ERROR_CODES[fault.status] ?? 'Error';
      res.writeHead(fault.status, { 'content-type': 'application/xml' });
      res.end(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>injected</Message></Error>`);
      return;
    }
    const upstream = http.request(new URL(req.url ?? '/', this.target), { method, headers: req.headers }, (answer) => {
      record.status = answer.statusCode ?? 0;
      res.writeHead(record.status, answer.headers);
      if (!fault) {
        answer.pipe(res);
        return;
      }
      let sent = 0;
      answer.on('data', (chunk: Buffer) => {
        const room = fault.cutAfterBytes - sent;
        if (room <= 0) return;
        res.write(chunk.subarray(0, room));
        sent += Math.min(room, chunk.length);
        if (sent >= fault.cutAfterBytes) {
          answer.destroy();
          // The client gets what was written so far (or less), then sees the connection drop.
          void (fault.onCut?.() ?? Promise.resolve()).finally(() => res.socket?.destroy());
        }
      });
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await closeServer(this.server);
  }
}
