import type { Prediction } from '../types.js';

/** Per-call options of {@link Model.predict}. */
export interface PredictOptions {
  /**
   * Aborts when the consumer drains past its deadline: a model that waits (remote calls,
   * `sleep`) should stop and reject, so the chunk is handed back instead of holding the pod.
   */
  signal?: AbortSignal;
}

/**
 * A model scores a whole chunk at once (batch-shaped, so that vectorised runtimes such
 * as ONNX fit the same seam).
 */
export interface Model {
  readonly name: string;
  /** Number of features every record must have, when the model fixes it. */
  readonly inputSize?: number;
  predict(features: readonly (readonly number[])[], options?: PredictOptions): Prediction[] | Promise<Prediction[]>;
}
