/**
 * The one place environment variables are read. Each variable has one definition (in the
 * `*-variables.ts` tables: name, parser, default, the commands it affects, its meaning);
 * {@link loadConfig} reads them all into a {@link Config}, and docs/configuration.md is
 * generated from the same definitions ({@link CONFIG_SECTIONS}). A malformed value throws a
 * ConfigError naming the variable, and the CLI prints that one line and exits before
 * anything starts.
 */
import {
  CLIENT_SECTION,
  CLIENT_VARIABLES,
  KNATIVE_IDENTITY_VARIABLES,
  KNATIVE_SECTION,
  KNATIVE_SINK_VARIABLES,
} from './knative-variables.js';
import { COST_SECTION, COST_VARIABLES, EXPORTER_SECTION, EXPORTER_VARIABLES } from './cost-variables.js';
import {
  DATASET_SECTION,
  DATASET_VARIABLES,
  LIMIT_SECTION,
  LIMIT_VARIABLES,
  OUTPUT_SECTION,
  OUTPUT_VARIABLES,
} from './dataset-variables.js';
import { MODEL_SECTION, MODEL_VARIABLES } from './model-variables.js';
import type { Env } from './readers.js';
import { CHUNK_SECTION, CHUNK_VARIABLES, REDIS_SECTION, REDIS_VARIABLES, SERVICE_SECTION, SERVICE_VARIABLES } from './service-variables.js';
import { STORAGE_SECTION, STORAGE_VARIABLES } from './storage-variables.js';
import { readTelemetryConfig, TELEMETRY_SECTION } from './telemetry-variables.js';
import type { TelemetryConfig } from './telemetry-variables.js';
import { readTable } from './variable.js';
import type { Section, TableValues, Variable } from './variable.js';

export type { Env } from './readers.js';
export type { LogLevel } from './service-variables.js';
export type { OtelLogLevel, OtlpProtocol, PropagatorName, SamplerName, TelemetryConfig, TraceExporterName } from './telemetry-variables.js';
export type { Section, Service, Variable } from './variable.js';

/** Flattens an intersection, so editors show one object type. */
type Flat<T> = { [K in keyof T]: T[K] } & {};

/**
 * Everything the commands are configured with. Each field is named in its variable's
 * definition (e.g. `port` in `SERVICE_VARIABLES` is `PORT`), which documents it.
 */
export type Config = Flat<
  TableValues<typeof REDIS_VARIABLES> &
    TableValues<typeof SERVICE_VARIABLES> &
    TableValues<typeof CHUNK_VARIABLES> &
    TableValues<typeof DATASET_VARIABLES> &
    TableValues<typeof LIMIT_VARIABLES> &
    TableValues<typeof MODEL_VARIABLES> &
    TableValues<typeof OUTPUT_VARIABLES> &
    TableValues<typeof STORAGE_VARIABLES> &
    TableValues<typeof COST_VARIABLES> &
    TableValues<typeof EXPORTER_VARIABLES> &
    TableValues<typeof KNATIVE_SINK_VARIABLES> &
    TableValues<typeof CLIENT_VARIABLES> & {
      /** Knative's `K_SERVICE`, `K_REVISION`, `K_CONFIGURATION`, when running on Knative. */
      knative: Partial<TableValues<typeof KNATIVE_IDENTITY_VARIABLES>>;
      /** Tracing (OpenTelemetry). */
      telemetry: TelemetryConfig;
      /**
       * The variables the environment sets (to a non-blank value), of those read here: for a
       * command whose default differs from a service's (`batchinfer run` writes to `./output`
       * and logs at `warn` unless `OUTPUT_URL` / `LOG_LEVEL` say otherwise), so it need not
       * read the environment itself. Defaults passed to {@link loadConfig} are not in it.
       */
      explicitlySet: ReadonlySet<string>;
    }
>;

/** The reference page's sections, in its order; every variable is in exactly one. */
export const CONFIG_SECTIONS: readonly Section[] = [
  REDIS_SECTION,
  SERVICE_SECTION,
  CHUNK_SECTION,
  DATASET_SECTION,
  LIMIT_SECTION,
  MODEL_SECTION,
  OUTPUT_SECTION,
  STORAGE_SECTION,
  COST_SECTION,
  EXPORTER_SECTION,
  KNATIVE_SECTION,
  TELEMETRY_SECTION,
  CLIENT_SECTION,
];

/** Every variable defined, read here or (`readHere: false`) only by a library. */
export const CONFIG_VARIABLES: readonly Variable<unknown>[] = CONFIG_SECTIONS.flatMap((s) => s.variables);

/**
 * `env` as the readers see it: a blank value is unset and falls back to `defaults`; every
 * variable read with a non-blank value in `env` itself is added to `explicitlySet`.
 */
function recordingEnv(env: Env, defaults: Env, explicitlySet: Set<string>): Env {
  return new Proxy(env, {
    get(target, name) {
      if (typeof name !== 'string') return undefined;
      const value = target[name];
      if (value !== undefined && value.trim() !== '') {
        explicitlySet.add(name);
        return value;
      }
      return defaults[name];
    },
  });
}

/**
 * Reads the whole configuration from `env`. Throws a ConfigError on the first bad value.
 * @param defaults - values a command uses where `env` sets nothing (e.g. `batchinfer run`
 *   also allows `file` datasets); they are checked like the environment's own.
 */
export function loadConfig(processEnv: Env = process.env, defaults: Env = {}): Config {
  const explicitlySet = new Set<string>();
  const env = recordingEnv(processEnv, defaults, explicitlySet);
  return {
    ...readTable(COST_VARIABLES, env),
    ...readTable(REDIS_VARIABLES, env),
    ...readTable(SERVICE_VARIABLES, env),
    ...readTable(OUTPUT_VARIABLES, env),
    ...readTable(STORAGE_VARIABLES, env),
    ...readTable(MODEL_VARIABLES, env),
    ...readTable(CHUNK_VARIABLES, env),
    ...readTable(DATASET_VARIABLES, env),
    ...readTable(LIMIT_VARIABLES, env),
    ...readTable(KNATIVE_SINK_VARIABLES, env),
    knative: readTable(KNATIVE_IDENTITY_VARIABLES, env),
    telemetry: readTelemetryConfig(env),
    ...readTable(EXPORTER_VARIABLES, env),
    ...readTable(CLIENT_VARIABLES, env),
    explicitlySet,
  };
}

/** The object-storage settings alone: read by the S3 client when a process first touches `s3://` (it gets no Config). */
export function readStorageConfig(processEnv: Env = process.env): TableValues<typeof STORAGE_VARIABLES> {
  return readTable(STORAGE_VARIABLES, processEnv);
}
