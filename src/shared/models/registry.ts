/**
 * The model kinds, one line each, and the two things done with a reference: parse it (the
 * producer at submit, the consumer per chunk) and load it (the consumer, once per process).
 * Nothing else in the code knows which kinds exist.
 */
import type { Config } from '../config/config.js';
import { ModelError } from '../errors.js';
import { drillKind } from './kinds/drill.js';
import { linearKind } from './kinds/linear.js';
import { onnxKind } from './kinds/onnx.js';
import { sleepKind } from './kinds/sleep.js';
import { sumKind } from './kinds/sum.js';
import type { Model, ModelContext, ModelKind, ModelSpec } from './model.js';

/** Every model kind. `sleep` and `drill` are test kinds (slow and faulty models for drills). */
export const MODEL_KINDS: readonly ModelKind[] = [sumKind, linearKind, onnxKind, sleepKind, drillKind];

const byName = new Map(MODEL_KINDS.map((kind) => [kind.name, kind]));

/** Parses `<kind>` or `<kind>:<argument>`; throws {@link ModelError} for an unknown kind or a bad argument. */
export function parseModelRef(ref: string, context: ModelContext): ModelSpec {
  const sep = ref.indexOf(':');
  const name = sep === -1 ? ref : ref.slice(0, sep);
  const kind = byName.get(name);
  if (!kind)
    throw new ModelError(`unknown model '${name}' (known: ${MODEL_KINDS.map((k) => k.usage).join(', ')})`, { code: 'MODEL_NOT_FOUND' });
  return kind.parse(sep === -1 ? undefined : ref.slice(sep + 1), ref, context);
}

const loaded = new Map<string, Promise<Model>>();

/** Loads a model once per process; later chunks of any batch reuse it. */
export function loadModel(spec: ModelSpec): Promise<Model> {
  let model = loaded.get(spec.cacheKey);
  if (!model) {
    model = spec.load();
    // A failed load is not cached: the file may appear (a volume mounted late).
    model.catch(() => loaded.delete(spec.cacheKey));
    loaded.set(spec.cacheKey, model);
  }
  return model;
}

type ModelConfig = Pick<Config, 'modelRoot'> & Partial<Pick<Config, 'model' | 'modelSha256'>>;
type RuntimeConfig = Pick<
  Config,
  'modelCacheDir' | 'datasetAllowPrivateNetworks' | 'datasetAllowedCidrs' | 'cpuLimitCores' | 'onnxExecutionProvider'
>;

/**
 * The model context of a process, from its configuration: where files may come from and the
 * deployment model's pin; with `runtime` (the consumer), how models are fetched and run.
 */
export function modelContext(config: ModelConfig, runtime?: RuntimeConfig): ModelContext {
  const context: ModelContext = { modelRoot: config.modelRoot };
  if (config.model && config.modelSha256) context.pin = { model: config.model, sha256: config.modelSha256 };
  if (runtime) {
    context.runtime = {
      cacheDir: runtime.modelCacheDir,
      allowPrivateNetworks: runtime.datasetAllowPrivateNetworks,
      allowedCidrs: runtime.datasetAllowedCidrs,
      // One inference may use the cores the pod is given (CPU_LIMIT), never fewer than one thread.
      intraOpThreads: Math.max(1, Math.floor(runtime.cpuLimitCores)),
      executionProvider: runtime.onnxExecutionProvider,
    };
  }
  return context;
}
