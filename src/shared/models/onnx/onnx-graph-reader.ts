/**
 * What an ONNX file says about itself beyond what onnxruntime tells: its classifier's class
 * labels (attributes of `LinearClassifier`, `TreeEnsembleClassifier`, `SVMClassifier`,
 * `ZipMap`), who produced it, and its ZipMap. onnxruntime-node cannot return ZipMap's
 * sequence of maps ("Non tensor type is temporarily not supported"), so the tensor ZipMap
 * reads (the probabilities, in class order) is added as a graph output: ZipMap exports then
 * give probabilities too. Imported lazily, with the runtime, by the ONNX kind only.
 */
import onnxProto from 'onnx-proto';
import type { onnx as Onnx } from 'onnx-proto';
import { ModelError } from '../../errors.js';

const { onnx } = onnxProto;

/** What the file says about itself; written once into the batch's manifest. */
export interface OnnxGraphFacts {
  producer: string | undefined;
  /** Class labels in class order, when a classifier node names them. */
  classLabels: (string | number)[] | undefined;
  /** The graph output added to read ZipMap's input tensor, when the model ends in ZipMap. */
  zipMapProbabilities: string | undefined;
}

export interface ReadGraph {
  facts: OnnxGraphFacts;
  /** The model to run: the file's bytes, or a copy with ZipMap's input as an extra output. */
  bytes: Uint8Array;
}

const LABEL_ATTRIBUTES = new Set(['classlabels_strings', 'classlabels_ints', 'classlabels_int64s']);
const decoder = new TextDecoder();

function classLabels(nodes: readonly Onnx.INodeProto[]): (string | number)[] | undefined {
  for (const node of nodes) {
    for (const attr of node.attribute ?? []) {
      if (!attr.name || !LABEL_ATTRIBUTES.has(attr.name)) continue;
      if (attr.strings && attr.strings.length > 0) return attr.strings.map((s) => decoder.decode(s));
      if (attr.ints && attr.ints.length > 0) return attr.ints.map((i) => Number(i));
    }
  }
  return undefined;
}

/** Parses the file; a file that is not an ONNX model is `MODEL_INVALID` naming it. */
export function readGraph(name: string, bytes: Uint8Array): ReadGraph {
  let proto: Onnx.ModelProto;
  try {
    proto = onnx.ModelProto.decode(bytes);
  } catch (err) {
    throw new ModelError(`model ${name} is not a valid ONNX file: ${(err as Error).message}`, { cause: err });
  }
  const graph = proto.graph;
  if (!graph || (graph.node ?? []).length === 0) throw new ModelError(`model ${name} is not a valid ONNX file: it has no graph`);
  const nodes = graph.node ?? [];
  const facts: OnnxGraphFacts = {
    producer: proto.producerName || undefined,
    classLabels: classLabels(nodes),
    zipMapProbabilities: undefined,
  };
  const zipMap = nodes.find((n) => n.opType === 'ZipMap');
  const zipInput = zipMap?.input?.[0];
  if (!zipInput || (graph.output ?? []).some((o) => o.name === zipInput)) return { facts, bytes };
  graph.output = [...(graph.output ?? []), { name: zipInput, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT } } }];
  facts.zipMapProbabilities = zipInput;
  return { facts, bytes: onnx.ModelProto.encode(proto).finish() };
}
