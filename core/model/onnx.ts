/**
 * ONNX export of a TreeEnsemble: one `ai.onnx.ml` TreeEnsembleRegressor node, float32 input `input [N, F]`,
 * float32 output `variable [N, 1]`, encoded with the onnx-proto message classes.
 */
import { onnx } from 'onnx-proto';
import { UserError } from '../errors';
import { ONNX_INPUT, ONNX_OUTPUT, TARGET } from '../schema';
import { GBDT_FORMAT, parseModel, type TreeEnsemble } from './gbdt';

/** IR version 8 with opset 18 + ai.onnx.ml 3 is the ONNX 1.13 pairing; onnxruntime-node 1.30 loads it. */
export const ONNX_IR_VERSION = 8;
export const ONNX_OPSET = 18;
export const ONNX_ML_OPSET = 3;
export const ONNX_FRAMEWORK = `${GBDT_FORMAT} (TypeScript histogram GBDT)`;
const PRODUCER_NAME = 'renewable-energy-mlops';

export interface OnnxExportMeta {
  modelName: string;
  /** Registry version; written as ModelProto.model_version and metadata `model_version`. */
  version?: number;
  /** Target column; default the schema TARGET. */
  target?: string;
  /** Framework description for the metadata; default ONNX_FRAMEWORK. */
  framework?: string;
  /** More metadata_props (must not reuse the reserved keys). */
  extra?: Record<string, string>;
}

const RESERVED_KEYS = ['feature_names', 'target', 'model_name', 'model_version', 'framework'];

const { AttributeType } = onnx.AttributeProto;

function ints(name: string, values: number[]): onnx.IAttributeProto {
  return { name, type: AttributeType.INTS, ints: values };
}
function floats(name: string, values: number[]): onnx.IAttributeProto {
  return { name, type: AttributeType.FLOATS, floats: values };
}
function strings(name: string, values: string[]): onnx.IAttributeProto {
  const enc = new TextEncoder();
  return { name, type: AttributeType.STRINGS, strings: values.map((v) => enc.encode(v)) };
}
function str(name: string, value: string): onnx.IAttributeProto {
  return { name, type: AttributeType.STRING, s: new TextEncoder().encode(value) };
}
function int(name: string, value: number): onnx.IAttributeProto {
  return { name, type: AttributeType.INT, i: value };
}

function tensorInfo(name: string, dims: (number | string)[]): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
      },
    },
  };
}

/**
 * Serialise `model` as an ONNX ModelProto. Thresholds, leaf weights and the base value are written as
 * float32 (they already are float32 values in the model), so onnxruntime reproduces `predict`.
 * @throws UserError for an invalid model or metadata.
 */
export function exportOnnx(model: TreeEnsemble, meta: OnnxExportMeta): Uint8Array {
  parseModel(model);
  if (typeof meta?.modelName !== 'string' || meta.modelName.trim() === '') throw new UserError('exportOnnx: meta.modelName must be a non-empty string');
  if (meta.version !== undefined && !(Number.isSafeInteger(meta.version) && meta.version >= 1)) {
    throw new UserError(`exportOnnx: meta.version must be a positive integer, got ${String(meta.version)}`);
  }
  for (const key of Object.keys(meta.extra ?? {})) {
    if (RESERVED_KEYS.includes(key)) throw new UserError(`exportOnnx: metadata key '${key}' is reserved`);
  }
  if (model.featureNames.some((name) => name.includes(','))) {
    throw new UserError('exportOnnx: feature names must not contain commas (feature_names metadata is comma-joined)');
  }

  const treeIds: number[] = [];
  const nodeIds: number[] = [];
  const featureIds: number[] = [];
  const modes: string[] = [];
  const values: number[] = [];
  const trueIds: number[] = [];
  const falseIds: number[] = [];
  const targetTreeIds: number[] = [];
  const targetNodeIds: number[] = [];
  const targetWeights: number[] = [];
  // TreeEnsembleRegressor needs at least one tree; the base score alone becomes a single zero leaf.
  const trees = model.trees.length > 0 ? model.trees : [{ feature: [-1], threshold: [0], left: [-1], right: [-1], value: [0] }];
  trees.forEach((tree, t) => {
    for (let node = 0; node < tree.feature.length; node++) {
      const f = tree.feature[node] as number;
      treeIds.push(t);
      nodeIds.push(node);
      if (f < 0) {
        featureIds.push(0);
        modes.push('LEAF');
        values.push(0);
        trueIds.push(0);
        falseIds.push(0);
        targetTreeIds.push(t);
        targetNodeIds.push(node);
        targetWeights.push(Math.fround(tree.value[node] as number));
      } else {
        featureIds.push(f);
        modes.push('BRANCH_LEQ');
        values.push(Math.fround(tree.threshold[node] as number));
        trueIds.push(tree.left[node] as number);
        falseIds.push(tree.right[node] as number);
      }
    }
  });

  const node: onnx.INodeProto = {
    name: 'TreeEnsembleRegressor',
    opType: 'TreeEnsembleRegressor',
    domain: 'ai.onnx.ml',
    input: [ONNX_INPUT],
    output: [ONNX_OUTPUT],
    attribute: [
      str('aggregate_function', 'SUM'),
      floats('base_values', [Math.fround(model.baseScore)]),
      int('n_targets', 1),
      ints('nodes_falsenodeids', falseIds),
      ints('nodes_featureids', featureIds),
      strings('nodes_modes', modes),
      ints('nodes_nodeids', nodeIds),
      ints('nodes_treeids', treeIds),
      ints('nodes_truenodeids', trueIds),
      floats('nodes_values', values),
      str('post_transform', 'NONE'),
      ints('target_ids', targetTreeIds.map(() => 0)),
      ints('target_nodeids', targetNodeIds),
      ints('target_treeids', targetTreeIds),
      floats('target_weights', targetWeights),
    ],
  };

  const metadata: Record<string, string> = {
    feature_names: model.featureNames.join(','),
    target: meta.target ?? TARGET,
    model_name: meta.modelName,
    ...(meta.version !== undefined ? { model_version: String(meta.version) } : {}),
    framework: meta.framework ?? ONNX_FRAMEWORK,
    ...meta.extra,
  };

  const proto: onnx.IModelProto = {
    irVersion: ONNX_IR_VERSION,
    opsetImport: [
      { domain: '', version: ONNX_OPSET },
      { domain: 'ai.onnx.ml', version: ONNX_ML_OPSET },
    ],
    producerName: PRODUCER_NAME,
    producerVersion: GBDT_FORMAT,
    ...(meta.version !== undefined ? { modelVersion: meta.version } : {}),
    docString: `Gradient-boosted regression trees (${model.nTrees} trees) predicting ${meta.target ?? TARGET}`,
    graph: {
      name: meta.modelName,
      node: [node],
      input: [tensorInfo(ONNX_INPUT, ['N', model.featureNames.length])],
      output: [tensorInfo(ONNX_OUTPUT, ['N', 1])],
    },
    metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })),
  };
  return onnx.ModelProto.encode(onnx.ModelProto.create(proto)).finish();
}

/** Decode an ONNX model and return its metadata_props as a plain object. */
export function readOnnxMetadata(bytes: Uint8Array): Record<string, string> {
  let decoded: onnx.ModelProto;
  try {
    decoded = onnx.ModelProto.decode(bytes);
  } catch (err) {
    throw new UserError(`not a valid ONNX model: ${(err as Error).message}`);
  }
  if (!decoded.graph) throw new UserError('not a valid ONNX model: it has no graph');
  const out: Record<string, string> = {};
  for (const entry of decoded.metadataProps) {
    if (entry.key) out[entry.key] = entry.value ?? '';
  }
  return out;
}
