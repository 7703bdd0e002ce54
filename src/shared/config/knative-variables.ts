/** Variables Knative sets in a pod, and the one the client commands read. */
import { ConfigError } from '../errors.js';
import { raw, readHttpUrl } from './readers.js';
import type { Env } from './readers.js';
import { httpUrl, optionalText, parsed, section } from './variable.js';

/** CloudEvents attribute names: lower-case letters and digits (CloudEvents 1.0). */
const CE_ATTRIBUTE_NAME = /^[a-z0-9]{1,20}$/;

function readCeOverrides(env: Env): Record<string, string> {
  const value = raw(env, 'K_CE_OVERRIDES');
  if (value === undefined) return {};
  let parsedValue: unknown;
  try {
    parsedValue = JSON.parse(value);
  } catch {
    throw new ConfigError('K_CE_OVERRIDES', 'expected JSON like {"extensions":{"key":"value"}}');
  }
  const extensions = (parsedValue as { extensions?: unknown } | null)?.extensions;
  if (extensions === undefined) return {};
  if (typeof extensions !== 'object' || extensions === null || Array.isArray(extensions)) {
    throw new ConfigError('K_CE_OVERRIDES', 'expected "extensions" to be an object');
  }
  for (const name of Object.keys(extensions)) {
    if (!CE_ATTRIBUTE_NAME.test(name)) {
      throw new ConfigError('K_CE_OVERRIDES', `extension name '${name}' must be 1-20 lower-case letters or digits`);
    }
  }
  return Object.fromEntries(Object.entries(extensions).map(([k, v]) => [k, String(v)]));
}

/** The processes that can end a batch, and so send its `batch.completed` event. */
const CLOSERS = ['producer', 'consumer', 'run'] as const;
const SERVICES = ['producer', 'consumer', 'exporter'] as const;

/** Knative Eventing's SinkBinding: where and how `batch.completed` events go. */
export const KNATIVE_SINK_VARIABLES = {
  kSink: httpUrl('K_SINK', {
    services: CLOSERS,
    doc: 'Set by a Knative SinkBinding: where the `batch.completed` CloudEvent of every batch is sent.',
  }),
  kCeOverrides: parsed('K_CE_OVERRIDES', {
    services: CLOSERS,
    doc: 'Set by a SinkBinding: extensions added to every emitted event.',
    accepts: 'JSON `{"extensions":{"name":"value"}}`, names of 1-20 lower-case letters or digits',
    shownDefault: 'unset',
    read: readCeOverrides,
  }),
} as const;

/** Knative Serving's runtime contract: the pod's Service, Revision and Configuration. */
export const KNATIVE_IDENTITY_VARIABLES = {
  service: optionalText('K_SERVICE', {
    services: SERVICES,
    doc: "Set by Knative: the Service's name, on every log line as `k_service` and on spans as `faas.name` and `knative.service`.",
  }),
  revision: optionalText('K_REVISION', {
    services: SERVICES,
    doc: 'Set by Knative: the Revision, on every log line as `k_revision` and on spans as `faas.version` and `knative.revision`.',
  }),
  configuration: optionalText('K_CONFIGURATION', {
    services: SERVICES,
    doc: 'Set by Knative: the Configuration, on every log line as `k_configuration` and on spans as `knative.configuration`.',
  }),
} as const;

const DEFAULT_SERVER = 'http://localhost:8080';

export const CLIENT_VARIABLES = {
  batchinferServer: parsed('BATCHINFER_SERVER', {
    services: ['client'],
    doc: 'The producer `submit` and `status` talk to when `--server` is not given.',
    accepts: 'an `http://` or `https://` URL',
    shownDefault: `\`${DEFAULT_SERVER}\``,
    // Normalised like a set value (`new URL` adds the trailing slash), so both compare alike.
    read: (env) => readHttpUrl(env, 'BATCHINFER_SERVER') ?? new URL(DEFAULT_SERVER).toString(),
  }),
} as const;

export const KNATIVE_SECTION = section(
  'Knative',
  'Set by Knative, not by hand: Serving names the pod, a SinkBinding (Eventing) says where completion events go.',
  KNATIVE_SINK_VARIABLES,
  KNATIVE_IDENTITY_VARIABLES,
);

export const CLIENT_SECTION = section(
  'Client',
  '`batchinfer submit` and `batchinfer status` talk to a running producer; they also send `API_TOKEN` (see Services).',
  CLIENT_VARIABLES,
);
