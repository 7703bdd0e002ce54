/**
 * A real HTTP dataset server on 127.0.0.1 that misbehaves on demand: answers 5xx, cuts the
 * connection mid-body, streams slowly, replaces a file between requests; with or without
 * ranges, ETag and Last-Modified. It records every request, so tests can check how a
 * dataset was fetched (e.g. resumed with `Range`/`If-Range`).
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { closeServer, listen } from '../../src/shared/http/health-server.js';

export interface FileOptions {
  /** Send a strong ETag (hash of the content). @defaultValue true */
  etag?: boolean;
  /** Send Last-Modified. @defaultValue false */
  lastModified?: boolean;
  /** Honour `Range` and say `accept-ranges: bytes`. @defaultValue true */
  ranges?: boolean;
  /** Stream at most this many bytes per `tickMs` (a slow server). */
  throttle?: { bytes: number; tickMs: number };
}

/** What the next request for a file meets; faults are consumed in order. */
export type Fault =
  | { status: number; retryAfter?: number }
  /** Cuts the connection after this many body bytes; then optionally replaces the file. */
  | { cutAfterBytes: number; thenReplaceWith?: string }
  /** Sends this many body bytes, then nothing until {@link DatasetServer.release} (or the client goes). */
  | { stallAfterBytes: number };

export interface RecordedRequest {
  path: string;
  range?: string;
  ifRange?: string;
  ifMatch?: string;
  status: number;
}

interface Served {
  body: Buffer;
  etag: string;
  lastModified: string;
  options: FileOptions;
  faults: Fault[];
}

export class DatasetServer {
  readonly requests: RecordedRequest[] = [];
  private readonly files = new Map<string, Served>();
  private server: http.Server | undefined;
  private base = '';
  private version = 0;
  private releaseStalls: () => void = () => undefined;
  private stallsReleased = new Promise<void>((resolve) => (this.releaseStalls = resolve));

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    this.base = `http://127.0.0.1:${await listen(this.server, 0, '127.0.0.1')}`;
    return this;
  }

  url(path: string): string {
    return `${this.base}${path}`;
  }

  /** Serves (or replaces) `path`; a replaced file gets a new ETag and Last-Modified. */
  set(path: string, content: string | Buffer, options: FileOptions = {}): void {
    const body = Buffer.isBuffer(content) ? content : Buffer.from(content);
    this.version++;
    this.files.set(path, {
      body,
      etag: `"${createHash('sha256').update(body).digest('hex').slice(0, 16)}"`,
      lastModified: new Date(Date.UTC(2024, 0, 1) + this.version * 1000).toUTCString(),
      options,
      faults: this.files.get(path)?.faults ?? [],
    });
  }

  /** Queues faults for the next requests of `path`. */
  fail(path: string, ...faults: Fault[]): void {
    this.files.get(path)?.faults.push(...faults);
  }

  /** Lets every stalled response go on. */
  release(): void {
    this.releaseStalls();
    this.stallsReleased = new Promise<void>((resolve) => (this.releaseStalls = resolve));
  }

  requestsFor(path: string): RecordedRequest[] {
    return this.requests.filter((r) => r.path === path);
  }

  async stop(): Promise<void> {
    this.releaseStalls();
    if (!this.server) return;
    this.server.closeAllConnections();
    await closeServer(this.server);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const file = this.files.get(path);
    const record = (status: number): void => {
      const entry: RecordedRequest = { path, status };
      if (typeof req.headers.range === 'string') entry.range = req.headers.range;
      if (typeof req.headers['if-range'] === 'string') entry.ifRange = req.headers['if-range'];
      if (typeof req.headers['if-match'] === 'string') entry.ifMatch = req.headers['if-match'];
      this.requests.push(entry);
    };
    if (!file) {
      record(404);
      res.writeHead(404).end();
      return;
    }
    const fault = file.faults.shift();
    if (fault && 'status' in fault) {
      record(fault.status);
      res.writeHead(fault.status, fault.retryAfter === undefined ? {} : { 'retry-after': String(fault.retryAfter) }).end();
      return;
    }
    const { etag = true, lastModified = false, ranges = true, throttle } = file.options;
    const headers: http.OutgoingHttpHeaders = { 'content-type': 'application/x-ndjson' };
    if (etag) headers.etag = file.etag;
    if (lastModified) headers['last-modified'] = file.lastModified;
    if (ranges) headers['accept-ranges'] = 'bytes';

    // Reads pinned to a version (a planned split): 412 once the file is another version.
    const ifMatch = req.headers['if-match'];
    const unmodifiedSince = req.headers['if-unmodified-since'];
    if (
      (ifMatch !== undefined && ifMatch !== file.etag) ||
      (unmodifiedSince !== undefined && Date.parse(file.lastModified) > Date.parse(unmodifiedSince))
    ) {
      record(412);
      res.writeHead(412).end();
      return;
    }
    const size = file.body.length;
    let start = 0;
    let last = size - 1;
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    const ifRange = req.headers['if-range'];
    const validatorMatches = ifRange === undefined || ifRange === file.etag || ifRange === file.lastModified;
    const partial = ranges && range !== null && validatorMatches && (Number(range[1]) > 0 || range[2] !== '');
    if (partial) {
      start = Number(range[1]);
      if (range[2] !== '') last = Math.min(Number(range[2]), size - 1);
      if (start >= size) {
        record(416);
        res.writeHead(416, { ...headers, 'content-range': `bytes */${size}` }).end();
        return;
      }
    }
    const slice = file.body.subarray(start, last + 1);
    headers['content-length'] = slice.length;
    let status = 200;
    if (partial) {
      status = 206;
      headers['content-range'] = `bytes ${start}-${last}/${size}`;
    }
    record(status);
    res.writeHead(status, headers);

    const cutAt = fault && 'cutAfterBytes' in fault ? fault.cutAfterBytes : Infinity;
    let stallAt = fault && 'stallAfterBytes' in fault ? fault.stallAfterBytes : Infinity;
    const piece = throttle?.bytes ?? 64 * 1024;
    for (let sent = 0; sent < slice.length;) {
      if (res.destroyed) return;
      if (sent >= stallAt) {
        const released = this.stallsReleased;
        await Promise.race([released, new Promise((resolve) => res.once('close', resolve))]);
        stallAt = Infinity;
        continue;
      }
      const end = Math.min(sent + piece, slice.length, stallAt);
      if (end > cutAt) {
        res.write(slice.subarray(sent, cutAt));
        await sleep(20); // let the bytes leave before the connection is cut
        res.socket?.destroy();
        if (fault && 'thenReplaceWith' in fault && fault.thenReplaceWith !== undefined) this.set(path, fault.thenReplaceWith, file.options);
        return;
      }
      const flowing = res.write(slice.subarray(sent, end));
      sent = end;
      if (!flowing) {
        await new Promise((resolve) => {
          res.once('drain', resolve);
          res.once('close', resolve);
        });
      }
      if (throttle) await sleep(throttle.tickMs);
    }
    res.end();
  }
}

export async function startDatasetServer(): Promise<DatasetServer> {
  return new DatasetServer().start();
}
