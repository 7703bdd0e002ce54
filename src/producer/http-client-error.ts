/**
 * Requests Node's HTTP parser rejects before any handler runs (malformed request line or
 * headers, oversized headers, a header timeout) still get a JSON error, like every other
 * refusal of the API, instead of Node's default plain-text `400 Bad Request`.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';

const STATUS: Record<string, [number, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'HEADERS_TOO_LARGE'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'REQUEST_TIMEOUT'],
};

/** A `clientError` listener for `http.Server`: answers once if the socket can still take it, then closes. */
export function answerClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  if (!socket.writable || err.code === 'ECONNRESET') {
    socket.destroy();
    return;
  }
  const [status, code] = STATUS[err.code ?? ''] ?? [400, 'BAD_REQUEST'];
  const body = JSON.stringify({ error: { code, message: 'malformed HTTP request' } });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}
