/**
 * The HTTP client of `submit`, `status`, `cancel` and `retry`. The producer comes from
 * `--server`, else `BATCHINFER_SERVER`, else http://localhost:8080; `API_TOKEN` is sent as
 * a bearer token when set. Both are read through the config module, once, on first use.
 */
import { loadConfig } from '../shared/config/config.js';
import type { Config } from '../shared/config/config.js';

/** No answer from the producer (refused, reset, DNS): exit 3. */
export class ProducerUnreachableError extends Error {
  readonly code = 'PRODUCER_UNREACHABLE';
}

/** The producer answered with an error status; `status` decides the exit code. */
export class ProducerApiError extends Error {
  constructor(
    readonly status: number,
    readonly apiCode: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

/** What to do next for the answers a user can fix. */
const NEXT_STEP: Record<number, string> = {
  401: ' (set API_TOKEN to the producer’s token)',
  404: ' (check the batch id; finished batches are forgotten after BATCH_TTL_SECONDS)',
};

let config: Config | undefined;
const clientConfig = (): Config => (config ??= loadConfig());

export interface ProducerClient {
  base: string;
  call(method: string, pathname: string, body?: unknown): Promise<unknown>;
}

export function producerClient(server: string | undefined): ProducerClient {
  const base = (server ?? clientConfig().batchinferServer).replace(/\/+$/, '');
  return {
    base,
    async call(method, pathname, body) {
      const headers: Record<string, string> = { accept: 'application/json' };
      if (body !== undefined) headers['content-type'] = 'application/json';
      const { apiToken } = clientConfig();
      if (apiToken) headers.authorization = `Bearer ${apiToken}`;
      const url = `${base}${pathname}`;
      let res: Response;
      try {
        res = await fetch(url, { method, headers, body: body === undefined ? null : JSON.stringify(body) });
      } catch (err) {
        const cause = (err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message;
        throw new ProducerUnreachableError(
          `cannot reach the producer at ${new URL(url).origin}: ${cause} (start it, or point --server / BATCHINFER_SERVER at it)`,
          { cause: err },
        );
      }
      const text = await res.text();
      let json: unknown = text;
      try {
        json = JSON.parse(text);
      } catch {
        /* keep the text */
      }
      if (res.ok) return json;
      const error = (json as { error?: { code?: string; message?: string; field?: string } } | undefined)?.error;
      const field = error?.field ? ` (field ${error.field})` : '';
      const detail = error?.message ?? (typeof json === 'string' ? json.slice(0, 200) : JSON.stringify(json));
      throw new ProducerApiError(
        res.status,
        error?.code,
        `the producer answered ${res.status}: ${detail}${field}${NEXT_STEP[res.status] ?? ''}`,
      );
    },
  };
}
