/**
 * The producer API's routes that act on an existing batch: `POST /v1/batches/:id/retry`
 * (re-run its failed chunks) and `DELETE /v1/batches/:id` (cancel it). They plug into
 * {@link createApiHandler} as extra routes, so they share its auth and error handling.
 */
import { sendJson } from '../shared/http/health-server.js';
import type { CancelDeps } from './cancel-batch.js';
import { cancelBatch } from './cancel-batch.js';
import type { Route, RouteEntry } from './http-api.js';
import { batchLinks } from './http-api.js';
import type { RetryDeps } from './retry-failed-chunks.js';
import { retryFailedChunks } from './retry-failed-chunks.js';

export function batchControlRoutes(deps: RetryDeps & CancelDeps): RouteEntry[] {
  const retry: Route = async (req, res, [id = '']) => {
    req.resume(); // no body is needed
    const result = await retryFailedChunks(deps, id);
    sendJson(res, 202, { ...result, links: batchLinks(id) }, { location: `/v1/batches/${id}` });
  };
  const cancel: Route = async (req, res, [id = '']) => {
    req.resume();
    const result = await cancelBatch(deps, id);
    sendJson(res, 200, { ...result, links: batchLinks(id) });
  };
  return [
    ['POST', /^\/v1\/batches\/([\w-]{1,100})\/retry\/?$/, retry, { template: '/v1/batches/:id/retry' }],
    ['DELETE', /^\/v1\/batches\/([\w-]{1,100})\/?$/, cancel, { template: '/v1/batches/:id' }],
  ];
}
