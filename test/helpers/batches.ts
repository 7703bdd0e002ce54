/** A client of a running producer's batch API, as users call it over HTTP. */
import type { BatchView } from '../../src/shared/types.js';
import { waitUntil } from './wait-until.js';

export interface ApiAnswer<T = Record<string, unknown>> {
  status: number;
  json: T & { error?: { code: string; message: string; field?: string } };
}

export async function callApi<T = Record<string, unknown>>(url: string, method = 'GET', body?: unknown): Promise<ApiAnswer<T>> {
  const res = await fetch(url, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? null : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as ApiAnswer<T>['json'] };
}

/** Submits a batch and returns its id (the submission must be accepted). */
export async function submitBatch(producerUrl: string, body: Record<string, unknown>): Promise<string> {
  const answer = await callApi<{ id: string }>(`${producerUrl}/v1/batches`, 'POST', body);
  if (answer.status !== 202) throw new Error(`submit answered ${answer.status}: ${JSON.stringify(answer.json)}`);
  return answer.json.id;
}

export async function getBatch(producerUrl: string, id: string): Promise<BatchView> {
  const answer = await callApi<BatchView>(`${producerUrl}/v1/batches/${id}`);
  if (answer.status !== 200) throw new Error(`status answered ${answer.status}`);
  return answer.json;
}

/** Polls the batch until `done` holds (e.g. a status is reached); returns that view. */
export async function waitForBatch(
  producerUrl: () => string,
  id: string,
  done: (view: BatchView) => boolean,
  what: string,
  timeoutMs = 60_000,
): Promise<BatchView> {
  return waitUntil(
    async () => {
      const view = await getBatch(producerUrl(), id);
      return done(view) ? view : undefined;
    },
    { timeoutMs, intervalMs: 100, what },
  );
}

/** Waits until the batch is in a terminal state and returns it. */
export function waitForEnd(producerUrl: () => string, id: string, timeoutMs = 60_000): Promise<BatchView> {
  return waitForBatch(producerUrl, id, (v) => ['completed', 'failed', 'cancelled'].includes(v.status), `batch ${id} to end`, timeoutMs);
}
