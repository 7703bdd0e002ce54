/**
 * The spec of every command (flags, defaults, examples): what `--help` prints and what the
 * parser accepts. Kept free of heavy imports so `--help` answers at once, without Redis
 * or any environment. `run`'s flags can be extended with {@link withFlags}.
 */
import { SCHEMA_FLAGS } from './schema-flags.js';
import { JSON_FLAG } from './command-spec.js';
import type { CommandSpec, FlagSpec } from './command-spec.js';

const SERVER_FLAG: FlagSpec = {
  type: 'string',
  value: 'URL',
  help: 'the producer to talk to',
  defaultText: '$BATCHINFER_SERVER, else http://localhost:8080',
};
const LABEL_FLAG: FlagSpec = { type: 'string', value: 'key=value', multiple: true, help: 'cost label (team, project, ...)' };
const EXIT_NOTE =
  'Exit codes: 0 completed, 1 batch failed (or every record failed), 2 usage/configuration/input error, 3 Redis or producer unreachable, 130 interrupted.';

export const RUN_SPEC: CommandSpec = {
  name: 'run',
  summary: 'Run producer, consumers and a Redis on this machine until the batch is done; print its summary.',
  positionals: ['<dataset>'],
  flags: {
    model: { type: 'string', value: 'MODEL', help: 'model reference: sum, linear:<file>, onnx:<ref>', defaultText: '$MODEL, else sum' },
    output: {
      type: 'string',
      short: 'o',
      value: 'DIR|URL',
      help: 'where the batch folder is written',
      defaultText: '$OUTPUT_URL, else ./output',
    },
    'chunk-size': {
      type: 'string',
      value: 'N',
      help: 'records per chunk',
      defaultText: '$CHUNK_SIZE, else about 4 splits per consumer slot (at least 1000)',
    },
    consumers: { type: 'string', value: 'N', help: 'consumer processes', defaultText: 'one per CPU core' },
    format: { type: 'string', value: 'jsonl|csv', help: 'dataset format', defaultText: 'from the file name, else jsonl' },
    ...SCHEMA_FLAGS,
    label: LABEL_FLAG,
    json: JSON_FLAG,
  },
  notes: `The dataset is a file, a folder, or an http(s):// or s3:// URL; .gz is read transparently. REDIS_URL: use that Redis instead of starting a private redis-server.\n${EXIT_NOTE}`,
  examples: [
    { note: 'score the sample dataset, output in ./output/<batch id>/', command: 'batchinfer run examples/sample.jsonl' },
    {
      note: 'a CSV on S3 with 4 consumers, summary as JSON',
      command: 'batchinfer run s3://my-bucket/data.csv --consumers 4 --output s3://my-bucket/out --json',
    },
  ],
};

export const SUBMIT_SPEC: CommandSpec = {
  name: 'submit',
  summary: 'Submit a batch to a running producer; prints its id.',
  positionals: ['<datasetUrl>'],
  flags: {
    server: SERVER_FLAG,
    model: { type: 'string', value: 'MODEL', help: 'model reference', defaultText: "the producer's MODEL" },
    format: { type: 'string', value: 'jsonl|csv', help: 'dataset format', defaultText: 'from the URL, else jsonl' },
    'chunk-size': { type: 'string', value: 'N', help: 'records per chunk', defaultText: "the producer's CHUNK_SIZE" },
    output: {
      type: 'string',
      value: 'URL',
      help: "output location (inside the producer's OUTPUT_URL)",
      defaultText: "the producer's OUTPUT_URL",
    },
    label: LABEL_FLAG,
    'idempotency-key': { type: 'string', value: 'KEY', help: 'the same key submitted twice makes one batch' },
    schedule: { type: 'string', value: 'NAME', help: 'name of the schedule (CronJob) this run belongs to' },
    json: JSON_FLAG,
  },
  notes: `{{date}}, {{yesterday}}, {{hour}}, ... in the dataset URL and idempotency key become the current minute (UTC). API_TOKEN is sent as a bearer token.\n${EXIT_NOTE}`,
  examples: [
    { note: 'submit a dataset the producer can fetch', command: 'batchinfer submit https://data.example.com/day.jsonl --label team=risk' },
    {
      note: "a nightly job: yesterday's file, submitted once however often it runs",
      command: "batchinfer submit 's3://bucket/{{yesterday}}.jsonl' --idempotency-key 'nightly-{{yesterday}}' --server http://producer",
    },
  ],
};

export const STATUS_SPEC: CommandSpec = {
  name: 'status',
  summary: 'Show a batch: state, counts, cost, wall time, output folder and, if it failed, why.',
  positionals: ['<id>'],
  flags: {
    server: SERVER_FLAG,
    watch: { type: 'boolean', short: 'w', help: 'follow progress until the batch ends, then print the summary', defaultText: 'off' },
    json: JSON_FLAG,
  },
  notes: EXIT_NOTE,
  examples: [
    { note: "a batch's summary", command: 'batchinfer status 9f1c2d3e-…' },
    {
      note: 'wait for it in a script; the exit code says how it ended',
      command: 'batchinfer status 9f1c2d3e-… --watch --json > summary.json',
    },
  ],
};

export const CANCEL_SPEC: CommandSpec = {
  name: 'cancel',
  summary: 'Cancel a batch that has not finished (DELETE /v1/batches/:id): queued chunks are removed.',
  positionals: ['<id>'],
  flags: { server: SERVER_FLAG, json: JSON_FLAG },
  notes: EXIT_NOTE,
  examples: [
    { note: 'cancel a batch', command: 'batchinfer cancel 9f1c2d3e-…' },
    { note: 'against a remote producer', command: 'batchinfer cancel 9f1c2d3e-… --server https://batchinfer.example.com' },
  ],
};

export const RETRY_SPEC: CommandSpec = {
  name: 'retry',
  summary: 'Run the failed chunks of a failed batch again, and only those (POST /v1/batches/:id/retry).',
  positionals: ['<id>'],
  flags: { server: SERVER_FLAG, json: JSON_FLAG },
  notes: EXIT_NOTE,
  examples: [
    { note: 'retry after fixing the cause (a model file, a bucket policy)', command: 'batchinfer retry 9f1c2d3e-…' },
    { note: 'retry, then follow it to the end', command: 'batchinfer retry 9f1c2d3e-… && batchinfer status 9f1c2d3e-… --watch' },
  ],
};

const SERVICE_NOTE = 'Configured only by environment variables (docs/configuration.md); logs JSON lines on stdout; drains on SIGTERM.';

function serviceSpec(name: string, summary: string, examples: CommandSpec['examples']): CommandSpec {
  return { name, summary, positionals: [], flags: {}, notes: SERVICE_NOTE, examples };
}

export const PRODUCER_SPEC = serviceSpec(
  'producer',
  'Start the producer: the HTTP API (POST /v1/batches, status, retry, cancel) and CloudEvents; reads datasets into chunks.',
  [
    { note: 'against a local Redis', command: 'REDIS_URL=redis://127.0.0.1:6379 OUTPUT_URL=file:///data/out batchinfer producer' },
    {
      note: 'with a token and S3 output',
      command: 'REDIS_URL=redis://redis:6379 API_TOKEN=… OUTPUT_URL=s3://bucket/out batchinfer producer',
    },
  ],
);

export const CONSUMER_SPEC = serviceSpec('consumer', 'Start a chunk consumer: takes chunks from the queue, predicts, writes parts.', [
  { note: 'one consumer on a local Redis', command: 'REDIS_URL=redis://127.0.0.1:6379 OUTPUT_URL=file:///data/out batchinfer consumer' },
  {
    note: 'an ONNX model from a model folder',
    command: 'REDIS_URL=redis://redis:6379 MODEL_ROOT=/models MODEL=onnx:iris.onnx batchinfer consumer',
  },
]);

export const EXPORTER_SPEC = serviceSpec('exporter', 'Start the exporter: Prometheus /metrics, a JSON API and the dashboard page.', [
  { note: 'metrics of a local Redis on port 9464', command: 'REDIS_URL=redis://127.0.0.1:6379 PORT=9464 batchinfer exporter' },
  { note: 'with team budgets', command: 'REDIS_URL=redis://redis:6379 TEAM_BUDGETS_USD=\'{"risk": 100}\' batchinfer exporter' },
]);

/** Every command's spec by name (the order `batchinfer --help` lists them in). */
export const SPECS: Record<string, CommandSpec> = {
  run: RUN_SPEC,
  submit: SUBMIT_SPEC,
  status: STATUS_SPEC,
  cancel: CANCEL_SPEC,
  retry: RETRY_SPEC,
  producer: PRODUCER_SPEC,
  consumer: CONSUMER_SPEC,
  exporter: EXPORTER_SPEC,
};
