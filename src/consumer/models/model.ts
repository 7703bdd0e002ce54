import type { Prediction } from '../../shared/types.js';

/**
 * A model scores a whole chunk at once (batch-shaped, so that vectorised runtimes such
 * as ONNX fit the same seam).
 */
export interface Model {
  readonly name: string;
  /** Number of features every record must have, when the model fixes it. */
  readonly inputSize?: number;
  predict(features: readonly (readonly number[])[]): Prediction[] | Promise<Prediction[]>;
}
