/**
 * A minimal HTTP server for `/healthz` (the process is alive) and `/readyz` (it can work:
 * Redis reachable, not draining), for services whose real work is not HTTP.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type ReadinessCheck = () => boolean;

export interface HealthServer {
  port: number;
  close(): Promise<void>;
}

export function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: http.OutgoingHttpHeaders = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** Answers the health routes; returns false when the request is for another route. */
export function answerHealth(req: http.IncomingMessage, res: http.ServerResponse, ready: ReadinessCheck): boolean {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  if (path === '/healthz') {
    sendJson(res, 200, { status: 'ok' });
    return true;
  }
  if (path === '/readyz') {
    const ok = ready();
    sendJson(res, ok ? 200 : 503, { status: ok ? 'ready' : 'not ready' });
    return true;
  }
  return false;
}

export function listen(server: http.Server, port: number, host?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

export function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}

export async function startHealthServer(port: number, ready: ReadinessCheck): Promise<HealthServer> {
  const server = http.createServer((req, res) => {
    if (!answerHealth(req, res, ready)) sendJson(res, 404, { error: { code: 'NOT_FOUND', message: 'not found' } });
  });
  const bound = await listen(server, port);
  return { port: bound, close: () => closeServer(server) };
}
