/**
 * The model seam. A **model kind** (`sum`, `linear`, `onnx`, ...) is one plug-in module in
 * `kinds/`, registered by one line in `registry.ts`: it parses and validates its reference
 * (cheap, no I/O: the producer does it at submit) into a {@link ModelSpec}, whose `load`
 * (in the consumer, once per process) builds the {@link Model}. Heavy runtimes are imported
 * inside `load`, so a process that never loads such a model never pays for them.
 */
import type { Prediction } from '../types.js';
import type { OnnxExecutionProvider } from '../config/model-variables.js';

/** Per-call options of {@link Model.predict}. */
export interface PredictOptions {
  /**
   * Aborts when the consumer drains past its deadline: a model that waits (remote calls,
   * `sleep`) should stop and reject, so the chunk is handed back instead of holding the pod.
   */
  signal?: AbortSignal;
}

/** What a model gives for a batch of records, one entry per record in order. */
export interface Scores {
  predictions: Prediction[];
  /** Per-class probabilities of each record, in class order (classifiers). */
  probabilities?: number[][];
}

/**
 * Facts about a loaded model worth keeping with its outputs (type, class labels, digest),
 * written once into the batch's `manifest.json` as `modelInfo`. JSON only.
 */
export type ModelInfo = Record<string, unknown>;

/**
 * A loaded model. It scores a whole batch of records at once (batch-shaped, so that
 * vectorised runtimes such as ONNX fit the same seam).
 */
export interface Model {
  readonly name: string;
  /** Number of features every record must have, when the model fixes it. */
  readonly inputSize?: number;
  /** See {@link ModelInfo}; absent for models with nothing to say (`sum`). */
  readonly info?: ModelInfo;
  predict(features: readonly (readonly number[])[], options?: PredictOptions): Prediction[] | Promise<Prediction[]>;
  /**
   * Scores with everything the model gives (probabilities as well as labels). Models without
   * it are scored with {@link Model.predict}.
   */
  score?(features: readonly (readonly number[])[], options?: PredictOptions): Promise<Scores>;
}

/** What a model kind needs from the process's configuration to find and load models. */
export interface ModelContext {
  /** `MODEL_ROOT`: the only folder model files may be loaded from (absolute). */
  modelRoot: string;
  /** `MODEL_SHA256` for the deployment's model (`MODEL`): the digest that reference must have. */
  pin?: { model: string; sha256: string };
  /** How models given by URL are fetched and run; absent where nothing is loaded (the producer). */
  runtime?: ModelRuntimeOptions;
}

/** What loading a model needs from the process beyond its reference. */
export interface ModelRuntimeOptions {
  /** Folder of downloaded models, one file per SHA-256 digest (`MODEL_CACHE_DIR`). */
  cacheDir: string;
  /** The dataset address policy, applied to `https://` models too (SSRF). */
  allowPrivateNetworks: boolean;
  allowedCidrs: readonly string[];
  /** Threads one inference may use: the CPU limit, rounded down, at least 1. */
  intraOpThreads: number;
  /** onnxruntime's execution provider for `onnx:` models (`ONNX_EXECUTION_PROVIDER`). */
  executionProvider: OnnxExecutionProvider;
}

/** A parsed, validated model reference, ready to load. */
export interface ModelSpec {
  /** The kind's name (`sum`, `linear`, ...). */
  readonly kind: string;
  /** The reference as written (`linear:w.json`): the `model` cost label and span attribute. */
  readonly ref: string;
  /** Identity for the per-process cache: two specs with one key are one loaded model. */
  readonly cacheKey: string;
  /** Builds the model (reads files, imports runtimes). Called once per process per key. */
  load(): Promise<Model>;
}

/** One model kind: `<name>` or `<name>:<argument>`. */
export interface ModelKind {
  readonly name: string;
  /** How to write a reference of this kind, for error messages and docs (`linear:<file in MODEL_ROOT>`). */
  readonly usage: string;
  /**
   * Validates `argument` (what follows `<name>:`, undefined when there is no colon) without
   * I/O; throws a `ModelError` naming what is wrong.
   */
  parse(argument: string | undefined, ref: string, context: ModelContext): ModelSpec;
}
