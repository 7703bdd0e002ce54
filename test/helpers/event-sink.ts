/**
 * A real HTTP receiver standing in for a Knative sink (`K_SINK`): records every request
 * (headers and body) and answers with scripted statuses, e.g. `[503, 202]` to make the first
 * delivery fail and the retry succeed.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  method: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** Status this receiver answered with. */
  status: number;
}

export class EventSink {
  readonly requests: ReceivedRequest[] = [];
  private server: http.Server | undefined;
  url = '';

  /** @param statuses - answers, in order; the last one repeats. */
  constructor(private readonly statuses: number[] = [202]) {}

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (d: Buffer) => parts.push(d));
      req.on('end', () => {
        const status = this.statuses[Math.min(this.requests.length, this.statuses.length - 1)] ?? 202;
        this.requests.push({ method: req.method ?? '', headers: req.headers, body: Buffer.concat(parts).toString('utf8'), status });
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/`;
    return this;
  }

  /** Requests this sink accepted (2xx). */
  accepted(): ReceivedRequest[] {
    return this.requests.filter((r) => r.status >= 200 && r.status < 300);
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      if (!this.server) return resolve();
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
