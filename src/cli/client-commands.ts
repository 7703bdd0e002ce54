/**
 * `batchinfer submit` and `batchinfer status`: clients of a running producer. The server
 * comes from `--server`, else `BATCHINFER_SERVER`, else http://localhost:8080; `API_TOKEN`
 * is sent as a bearer token when set.
 */
import { loadConfig } from '../shared/config/config.js';
import type { Config } from '../shared/config/config.js';
import { expandTimePlaceholders, scheduledMinute } from '../shared/time-template.js';
import { TERMINAL_STATUSES } from '../shared/types.js';
import type { BatchView } from '../shared/types.js';
import { parse, UsageError } from './args.js';
import { parseLabels } from './labels.js';
import { progressLine } from './progress.js';

const SUBMIT_USAGE =
  'usage: batchinfer submit <datasetUrl> [--server URL] [--model M] [--format jsonl|csv] [--chunk-size N] [--output URL] [--label key=value]... [--idempotency-key K] [--schedule NAME] [--json]\n' +
  '       {{date}}, {{yesterday}}, {{hour}}, ... in the dataset URL and idempotency key become the current minute (UTC)';
const STATUS_USAGE = 'usage: batchinfer status <id> [--server URL] [--watch] [--json]';

/** Read once, on first use, before any request: a malformed variable fails the command with one line. */
let config: Config | undefined;
const clientConfig = (): Config => (config ??= loadConfig());

function serverUrl(flag: string | undefined): string {
  return (flag ?? clientConfig().batchinferServer).replace(/\/+$/, '');
}

async function call(method: string, url: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const { apiToken } = clientConfig();
  if (apiToken) headers.authorization = `Bearer ${apiToken}`;
  let res: Response;
  try {
    res = await fetch(url, { method, headers, body: body === undefined ? null : JSON.stringify(body) });
  } catch (err) {
    throw new Error(
      `cannot reach ${new URL(url).origin}: ${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message}`,
    );
  }
  const text = await res.text();
  let json: unknown = text;
  try {
    json = JSON.parse(text);
  } catch {
    /* keep the text */
  }
  return { status: res.status, json };
}

function apiError(status: number, json: unknown): Error {
  const error = (json as { error?: { message?: string; field?: string } }).error;
  const field = error?.field ? ` (${error.field})` : '';
  return new Error(`server answered ${status}: ${error?.message ?? JSON.stringify(json)}${field}`);
}

export async function submitCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      server: { type: 'string' },
      model: { type: 'string' },
      format: { type: 'string' },
      'chunk-size': { type: 'string' },
      output: { type: 'string' },
      label: { type: 'string', multiple: true },
      'idempotency-key': { type: 'string' },
      schedule: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    SUBMIT_USAGE,
  );
  const [datasetUrl] = positionals;
  if (datasetUrl === undefined || positionals.length !== 1) throw new UsageError(`expected one dataset URL\n${SUBMIT_USAGE}`);
  // A CronJob runs the same command every time: the date comes from when it runs.
  const at = scheduledMinute(new Date());
  const expand = (text: string): string => {
    try {
      return expandTimePlaceholders(text, at);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  };
  const body: Record<string, unknown> = { datasetUrl: expand(datasetUrl) };
  if (values.model) body.model = values.model;
  if (values.format) body.format = values.format;
  if (values['chunk-size']) body.chunkSize = Number(values['chunk-size']);
  if (values.output) body.outputUrl = values.output;
  if (values.label) body.labels = parseLabels(values.label, SUBMIT_USAGE);
  if (values['idempotency-key']) body.idempotencyKey = expand(values['idempotency-key']);
  if (values.schedule) body.schedule = values.schedule;
  const { status, json } = await call('POST', `${serverUrl(values.server)}/v1/batches`, body);
  if (status !== 202) throw apiError(status, json);
  const { id } = json as { id: string };
  process.stdout.write(values.json ? `${JSON.stringify(json)}\n` : `${id}\n`);
  return 0;
}

export async function statusCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    { server: { type: 'string' }, watch: { type: 'boolean', default: false }, json: { type: 'boolean', default: false } },
    STATUS_USAGE,
  );
  const [id] = positionals;
  if (!id || positionals.length !== 1) throw new UsageError(`expected one batch id\n${STATUS_USAGE}`);
  const url = `${serverUrl(values.server)}/v1/batches/${encodeURIComponent(id)}`;
  const started = Date.now();
  for (;;) {
    const { status, json } = await call('GET', url);
    if (status !== 200) throw apiError(status, json);
    const view = json as BatchView;
    const terminal = TERMINAL_STATUSES.includes(view.status);
    if (values.json) {
      if (!values.watch || terminal) process.stdout.write(`${JSON.stringify(view)}\n`);
    } else {
      process.stdout.write(`${view.id} ${progressLine(view, Date.now() - started)}\n`);
    }
    if (!values.watch || terminal) return view.status === 'failed' || view.status === 'cancelled' ? 1 : 0;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}
