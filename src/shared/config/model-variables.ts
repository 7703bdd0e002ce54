/** Variables of models: which one scores a batch, where model files come from, and how they run. */
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from '../errors.js';
import { readOptionalInt, readOptionalString, readString } from './readers.js';
import { oneOf, parsed, section, text } from './variable.js';

/** onnxruntime execution providers batchinfer passes on: CPU (shipped) or CUDA (needs an image with its binaries). */
export const ONNX_EXECUTION_PROVIDERS = ['cpu', 'cuda'] as const;
export type OnnxExecutionProvider = (typeof ONNX_EXECUTION_PROVIDERS)[number];

const INGESTERS = ['producer', 'run'] as const;
const LOADERS = ['consumer', 'run'] as const;

export const MODEL_VARIABLES = {
  model: text('MODEL', {
    services: INGESTERS,
    default: 'sum',
    doc: 'Model used when a request (or `run --model`) names none: `sum`, `linear:<file>` or `onnx:<ref>` (see [docs/models.md](models.md)).',
  }),
  modelRoot: parsed('MODEL_ROOT', {
    services: ['producer', 'consumer', 'run'],
    doc: 'The only folder model files may be loaded from (`linear:<file>`, `onnx:<file>` name a file in it; `run --model-root` overrides).',
    note:
      'Resolved against the working directory at start. The producer checks a model file is inside it when a batch is submitted, the ' +
      'consumer when it loads the model, so both need the same value; a path leading out of it (`..`, an absolute path elsewhere) is refused.',
    accepts: 'a folder path',
    shownDefault: '`models` (under the working directory)',
    read: (env) => path.resolve(readString(env, 'MODEL_ROOT', 'models')),
  }),
  modelSha256: parsed('MODEL_SHA256', {
    services: ['producer', 'consumer', 'run'],
    doc: 'SHA-256 the model named by `MODEL` must have (`onnx:` models): a mismatch fails the batch (`MODEL_INVALID`) before any record is scored.',
    note: 'A reference can carry its own pin instead: `onnx:https://host/m.onnx?sha256=<hex>`. Pinned downloads are cached per pod by digest.',
    accepts: '64 hex digits',
    shownDefault: 'unset',
    read: (env) => {
      const value = readOptionalString(env, 'MODEL_SHA256')?.toLowerCase();
      if (value !== undefined && !/^[0-9a-f]{64}$/.test(value))
        throw new ConfigError('MODEL_SHA256', `expected 64 hex digits, got '${value}'`);
      return value;
    },
  }),
  modelBatchSize: parsed('MODEL_BATCH_SIZE', {
    services: LOADERS,
    doc: 'Records per model call (one `[n, features]` tensor per call for `onnx:` models).',
    accepts: 'a whole number >= 1',
    shownDefault: 'the whole chunk, up to 1024',
    read: (env) => readOptionalInt(env, 'MODEL_BATCH_SIZE', 1),
  }),
  modelCacheDir: parsed('MODEL_CACHE_DIR', {
    services: LOADERS,
    doc: 'Folder where models fetched by URL are kept, one file per SHA-256 digest (per pod: an `emptyDir` in Kubernetes).',
    accepts: 'a folder path',
    shownDefault: '`<tmpdir>/batchinfer-models`',
    read: (env) => path.resolve(readString(env, 'MODEL_CACHE_DIR', path.join(os.tmpdir(), 'batchinfer-models'))),
  }),
  onnxExecutionProvider: oneOf('ONNX_EXECUTION_PROVIDER', {
    services: LOADERS,
    values: ONNX_EXECUTION_PROVIDERS,
    default: 'cpu',
    doc: "Where onnxruntime runs `onnx:` models: `cpu`, or `cuda` on a pod with an NVIDIA GPU and an image that ships onnxruntime-node's CUDA binaries (this repo's image does not; see [docs/models.md](models.md#gpus)). `cuda` without them fails the batch at model load (`MODEL_INVALID`).",
  }),
} as const;

export const MODEL_SECTION = section(
  'Models',
  'Which model scores a batch, where model files may come from, and how they run (see [docs/models.md](models.md)).',
  MODEL_VARIABLES,
);
