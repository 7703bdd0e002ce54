/**
 * An ONNX model on onnxruntime-node (CPU, or CUDA when `ONNX_EXECUTION_PROVIDER=cuda`). The runtime is imported here, lazily, the first
 * time a process loads an ONNX model: the package is large and native, and a producer,
 * exporter or consumer that never scores ONNX never loads it. One session per model per
 * process; each sub-batch is one `[n, d]` float32 tensor and one `run`.
 */
import type * as OrtModule from 'onnxruntime-node';
import type { InferenceSession } from 'onnxruntime-node';
import { ModelError } from '../../errors.js';
import type { OnnxExecutionProvider } from '../../config/model-variables.js';
import type { Model, PredictOptions, Scores } from '../model.js';
import { readGraph } from './onnx-graph-reader.js';
import { fetchNames, outputLayout, readScores } from './onnx-layout.js';

export interface OnnxModelOptions {
  /** The reference, for messages (`onnx:iris.onnx`). */
  name: string;
  /** SHA-256 of the file, hex: the model's identity in the manifest. */
  sha256: string;
  /** onnxruntime's intra-op threads (one inference spread over this many cores). */
  intraOpThreads: number;
  /** Where onnxruntime runs the graph. @defaultValue 'cpu' */
  executionProvider?: OnnxExecutionProvider;
}

type Ort = typeof OrtModule;

let runtime: Promise<Ort> | undefined;
/** The runtime, imported once per process. */
function loadRuntime(): Promise<Ort> {
  runtime ??= import('onnxruntime-node');
  return runtime;
}

/** Copies rows into one row-major float32 buffer: the `[n, d]` input tensor's data. */
function toFloat32(features: readonly (readonly number[])[], d: number): Float32Array {
  const data = new Float32Array(features.length * d);
  for (let i = 0; i < features.length; i++) {
    const row = features[i] ?? [];
    if (row.length === d) data.set(row, i * d);
    else for (let j = 0; j < d; j++) data[i * d + j] = row[j] ?? 0;
  }
  return data;
}

export async function createOnnxModel(bytes: Uint8Array, options: OnnxModelOptions): Promise<Model> {
  const { name } = options;
  const graph = readGraph(name, bytes);
  const ort = await loadRuntime();
  const provider = options.executionProvider ?? 'cpu';
  let session: InferenceSession;
  try {
    session = await ort.InferenceSession.create(graph.bytes, {
      intraOpNumThreads: options.intraOpThreads,
      interOpNumThreads: 1,
      executionProviders: [provider],
    });
  } catch (err) {
    const message = (err as Error).message;
    // The graph parsed above, so a failure on a non-CPU provider is, in practice, the provider
    // missing from this runtime build (onnxruntime-node ships only CPU binaries by default).
    if (provider !== 'cpu') {
      throw new ModelError(
        `model ${name} could not be loaded on ONNX_EXECUTION_PROVIDER=${provider}: this onnxruntime has no usable ${provider} provider ` +
          `(an image with onnxruntime-node's ${provider.toUpperCase()} binaries and a GPU are needed, or set ONNX_EXECUTION_PROVIDER=cpu): ${message}`,
        { cause: err, code: 'MODEL_INVALID' },
      );
    }
    throw new ModelError(`model ${name} could not be loaded by onnxruntime: ${message}`, { cause: err });
  }
  const inputs = session.inputMetadata;
  const input = inputs[0];
  if (inputs.length !== 1 || !input?.isTensor) {
    throw new ModelError(`model ${name} must take one tensor input [N, features]; it takes ${inputs.map((i) => i.name).join(', ')}`, {
      code: 'MODEL_INPUT_MISMATCH',
    });
  }
  if (input.type !== 'float32') {
    throw new ModelError(`model ${name} input '${input.name}' must be float32, got ${input.type}`, { code: 'MODEL_INPUT_MISMATCH' });
  }
  if (input.shape.length !== 2) {
    throw new ModelError(`model ${name} input '${input.name}' must be 2-D [N, features], got shape [${input.shape.join(', ')}]`, {
      code: 'MODEL_INPUT_MISMATCH',
    });
  }
  const width = input.shape[1];
  const inputSize = typeof width === 'number' ? width : undefined;
  const layout = outputLayout(name, session.outputMetadata, graph.facts);
  const fetches = fetchNames(layout);

  const score = async (features: readonly (readonly number[])[], _options?: PredictOptions): Promise<Scores> => {
    const n = features.length;
    if (n === 0) return { predictions: [] };
    const d = inputSize ?? features[0]?.length ?? 0;
    const tensor = new ort.Tensor('float32', toFloat32(features, d), [n, d]);
    const results = await session.run({ [input.name]: tensor }, fetches);
    return readScores(layout, results, n);
  };

  const info: Record<string, unknown> = {
    format: 'onnx',
    sha256: options.sha256,
    type: layout.type,
    input: { name: input.name, features: inputSize ?? null },
    outputs: fetches,
  };
  if (graph.facts.producer) info.producer = graph.facts.producer;
  if (layout.type === 'classifier' && layout.classLabels) info.classLabels = layout.classLabels;

  const model: Model = {
    name,
    info,
    score,
    async predict(features, predictOptions) {
      return (await score(features, predictOptions)).predictions;
    },
  };
  return inputSize === undefined ? model : { ...model, inputSize };
}
