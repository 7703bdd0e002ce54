/**
 * Writes small ONNX models in the layouts the common converters export, with `onnx-proto`:
 * the Iris example model, and the models the tests and benchmarks score (skl2onnx, onnxmltools
 * and torch.onnx are Python tools and cannot be installed here, so their graphs are rebuilt
 * node for node). Never imported by a service: only by the example script, tests and benches.
 */
import onnxProto from 'onnx-proto';
import type { onnx as Onnx } from 'onnx-proto';

const { onnx } = onnxProto;
const { AttributeType } = onnx.AttributeProto;
const { DataType } = onnx.TensorProto;

/** The ai.onnx.ml domain (LinearClassifier, Normalizer, ZipMap, LinearRegressor). */
const ML_DOMAIN = 'ai.onnx.ml';
/** The batch dimension: symbolic, as every converter writes it, so any sub-batch size runs. */
const BATCH = 'N';

type Dim = number | string;
type Attribute = number | string | readonly number[] | readonly string[] | { ints: readonly number[] };

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

function attribute(name: string, value: Attribute): Onnx.IAttributeProto {
  if (typeof value === 'number')
    return Number.isInteger(value) ? { name, type: AttributeType.INT, i: value } : { name, type: AttributeType.FLOAT, f: value };
  if (typeof value === 'string') return { name, type: AttributeType.STRING, s: bytes(value) };
  if ('ints' in value) return { name, type: AttributeType.INTS, ints: [...value.ints] };
  if (value.length > 0 && typeof value[0] === 'string')
    return { name, type: AttributeType.STRINGS, strings: (value as readonly string[]).map(bytes) };
  return { name, type: AttributeType.FLOATS, floats: [...(value as readonly number[])] };
}

function node(
  opType: string,
  inputs: string[],
  outputs: string[],
  attributes: Record<string, Attribute> = {},
  domain = '',
): Onnx.INodeProto {
  return {
    opType,
    input: inputs,
    output: outputs,
    domain,
    name: `${opType}_${outputs[0] ?? ''}`,
    attribute: Object.entries(attributes).map(([k, v]) => attribute(k, v)),
  };
}

function tensorType(elemType: number, dims: readonly Dim[]): Onnx.ITypeProto {
  return { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } };
}

const valueInfo = (name: string, type: Onnx.ITypeProto): Onnx.IValueInfoProto => ({ name, type });

/** ZipMap's output: a sequence of maps from class label to probability. */
function zipMapType(stringLabels: boolean): Onnx.ITypeProto {
  return {
    sequenceType: {
      elemType: { mapType: { keyType: stringLabels ? DataType.STRING : DataType.INT64, valueType: tensorType(DataType.FLOAT, []) } },
    },
  };
}

function initializer(name: string, dims: number[], values: readonly number[]): Onnx.ITensorProto {
  return { name, dims, dataType: DataType.FLOAT, floatData: [...values] };
}

function model(graph: Onnx.IGraphProto, producer: string, ml: boolean): Uint8Array {
  const opsetImport: Onnx.IOperatorSetIdProto[] = [{ domain: '', version: 13 }];
  if (ml) opsetImport.push({ domain: ML_DOMAIN, version: 1 });
  const proto = onnx.ModelProto.create({ irVersion: 8, producerName: producer, producerVersion: '0', opsetImport, graph });
  return onnx.ModelProto.encode(proto).finish();
}

export interface LinearClassifierSpec {
  /** One row of weights per class. */
  coefficients: readonly (readonly number[])[];
  intercepts: readonly number[];
  /** Class labels, in class order: strings or integers. */
  classLabels: readonly string[] | readonly number[];
  /** Append ZipMap (skl2onnx's default) or return the probabilities tensor (`zipmap=False`). */
  zipMap: boolean;
  /** Name of the input tensor. @defaultValue `float_input` (skl2onnx's) */
  inputName?: string;
}

/**
 * skl2onnx's layout for a LogisticRegression: `LinearClassifier` (softmax) → `Normalizer` (L1)
 * → `ZipMap`. Outputs `output_label` and `output_probability` (a sequence of maps) with
 * ZipMap, `label` and `probabilities` (tensors, onnxmltools' names) without.
 */
export function linearClassifierModel(spec: LinearClassifierSpec): Uint8Array {
  const d = spec.coefficients[0]?.length ?? 0;
  const classes = spec.classLabels.length;
  const input = spec.inputName ?? 'float_input';
  const stringLabels = typeof spec.classLabels[0] === 'string';
  const labelAttr: Record<string, Attribute> = stringLabels
    ? { classlabels_strings: spec.classLabels }
    : { classlabels_ints: { ints: spec.classLabels as readonly number[] } };
  const label = spec.zipMap ? 'output_label' : 'label';
  const probabilities = spec.zipMap ? 'probability_tensor' : 'probabilities';
  const nodes = [
    node(
      'LinearClassifier',
      [input],
      [label, 'raw_scores'],
      { ...labelAttr, coefficients: spec.coefficients.flat(), intercepts: [...spec.intercepts], multi_class: 1, post_transform: 'SOFTMAX' },
      ML_DOMAIN,
    ),
    node('Normalizer', ['raw_scores'], [probabilities], { norm: 'L1' }, ML_DOMAIN),
  ];
  const outputs = [valueInfo(label, tensorType(stringLabels ? DataType.STRING : DataType.INT64, [BATCH]))];
  if (spec.zipMap) {
    const zipLabels: Record<string, Attribute> = stringLabels
      ? { classlabels_strings: spec.classLabels }
      : { classlabels_int64s: { ints: spec.classLabels as readonly number[] } };
    nodes.push(node('ZipMap', [probabilities], ['output_probability'], zipLabels, ML_DOMAIN));
    outputs.push(valueInfo('output_probability', zipMapType(stringLabels)));
  } else {
    outputs.push(valueInfo(probabilities, tensorType(DataType.FLOAT, [BATCH, classes])));
  }
  const graph: Onnx.IGraphProto = {
    name: 'linear_classifier',
    node: nodes,
    input: [valueInfo(input, tensorType(DataType.FLOAT, [BATCH, d]))],
    output: outputs,
  };
  return model(graph, spec.zipMap ? 'skl2onnx' : 'onnxmltools', true);
}

export interface LinearRegressorSpec {
  /** One row of weights per target. */
  coefficients: readonly (readonly number[])[];
  intercepts: readonly number[];
}

/** skl2onnx's layout for a LinearRegression: `LinearRegressor`, output `variable` [N, targets]. */
export function linearRegressorModel(spec: LinearRegressorSpec): Uint8Array {
  const d = spec.coefficients[0]?.length ?? 0;
  const targets = spec.coefficients.length;
  const graph: Onnx.IGraphProto = {
    name: 'linear_regressor',
    node: [
      node(
        'LinearRegressor',
        ['float_input'],
        ['variable'],
        { coefficients: spec.coefficients.flat(), intercepts: [...spec.intercepts], targets },
        ML_DOMAIN,
      ),
    ],
    input: [valueInfo('float_input', tensorType(DataType.FLOAT, [BATCH, d]))],
    output: [valueInfo('variable', tensorType(DataType.FLOAT, [BATCH, targets]))],
  };
  return model(graph, 'skl2onnx', true);
}

export interface MlpSpec {
  /** Hidden layer weights, d × h, and bias, h. */
  w1: readonly (readonly number[])[];
  b1: readonly number[];
  /** Output layer weights, h × classes, and bias, classes. */
  w2: readonly (readonly number[])[];
  b2: readonly number[];
}

/**
 * torch.onnx's layout for a small MLP classifier exported with its softmax and argmax:
 * `MatMul`/`Add`/`Relu`/`MatMul`/`Add` → `Softmax` (`probabilities`) and `ArgMax` (`label`,
 * int64 class indices).
 */
export function mlpClassifierModel(spec: MlpSpec): Uint8Array {
  const d = spec.w1.length;
  const h = spec.b1.length;
  const classes = spec.b2.length;
  const graph: Onnx.IGraphProto = {
    name: 'torch_jit',
    node: [
      node('MatMul', ['input', 'w1'], ['h0']),
      node('Add', ['h0', 'b1'], ['h1']),
      node('Relu', ['h1'], ['h2']),
      node('MatMul', ['h2', 'w2'], ['l0']),
      node('Add', ['l0', 'b2'], ['logits']),
      node('Softmax', ['logits'], ['probabilities'], { axis: 1 }),
      node('ArgMax', ['logits'], ['label'], { axis: 1, keepdims: 0 }),
    ],
    initializer: [
      initializer('w1', [d, h], spec.w1.flat()),
      initializer('b1', [h], spec.b1),
      initializer('w2', [h, classes], spec.w2.flat()),
      initializer('b2', [classes], spec.b2),
    ],
    input: [valueInfo('input', tensorType(DataType.FLOAT, [BATCH, d]))],
    output: [
      valueInfo('label', tensorType(DataType.INT64, [BATCH])),
      valueInfo('probabilities', tensorType(DataType.FLOAT, [BATCH, classes])),
    ],
  };
  return model(graph, 'pytorch', false);
}

/** A model whose output is `log(x)` of its first feature: negative features give NaN, 0 gives -Infinity. */
export function logModel(d: number): Uint8Array {
  const graph: Onnx.IGraphProto = {
    name: 'log',
    node: [node('Slice', ['input', 'starts', 'ends', 'axes'], ['first']), node('Log', ['first'], ['output'])],
    initializer: [
      { name: 'starts', dims: [1], dataType: DataType.INT64, int64Data: [0] },
      { name: 'ends', dims: [1], dataType: DataType.INT64, int64Data: [1] },
      { name: 'axes', dims: [1], dataType: DataType.INT64, int64Data: [1] },
    ],
    input: [valueInfo('input', tensorType(DataType.FLOAT, [BATCH, d]))],
    output: [valueInfo('output', tensorType(DataType.FLOAT, [BATCH, 1]))],
  };
  return model(graph, 'pytorch', false);
}
