import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadTable } from '../data';
import { createRng } from '../random';
import { FEATURES, MODEL_NAME, ONNX_INPUT, ONNX_OUTPUT, TARGET } from '../schema';
import { HAS_OWID, OWID_CSV, OWID_SKIP_MESSAGE } from '../../test/support/paths';
import { predict, trainGbdt, type TreeEnsemble } from './gbdt';
import { ONNX_FRAMEWORK, exportOnnx, readOnnxMetadata } from './onnx';

const NF = FEATURES.length;

async function runOnnx(bytes: Uint8Array, X: Float32Array, threads?: number): Promise<ort.Tensor> {
  const session = await ort.InferenceSession.create(Buffer.from(bytes), threads ? { intraOpNumThreads: threads } : {});
  try {
    expect(session.inputNames).toEqual([ONNX_INPUT]);
    expect(session.outputNames).toEqual([ONNX_OUTPUT]);
    const out = await session.run({ [ONNX_INPUT]: new ort.Tensor('float32', X, [X.length / NF, NF]) });
    return out[ONNX_OUTPUT] as ort.Tensor;
  } finally {
    await session.release();
  }
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
/** The adjacent float32 above (+1) or below (-1) a finite float32 value. */
function adjacentFloat32(v: number, direction: 1 | -1): number {
  if (v === 0) return direction * 1.401298464324817e-45;
  f32[0] = v;
  u32[0] = (u32[0] as number) + (v > 0 === (direction > 0) ? 1 : -1);
  return f32[0] as number;
}

/** Rows that put every split threshold's feature exactly on, just below and just above the threshold. */
function adversarialRows(model: TreeEnsemble, base: Float32Array): Float32Array {
  const rows: number[] = [];
  for (const tree of model.trees) {
    tree.feature.forEach((f, node) => {
      if (f < 0) return;
      const t = tree.threshold[node] as number;
      for (const v of [t, adjacentFloat32(t, 1), adjacentFloat32(t, -1)]) {
        const r = Array.from(base);
        r[f] = v;
        rows.push(...r);
      }
    });
  }
  return Float32Array.from(rows);
}

function syntheticTable(n: number, seed: number): { X: Float32Array; y: number[] } {
  const rng = createRng(seed);
  const X = new Float32Array(n * NF);
  const y: number[] = [];
  for (let i = 0; i < n; i++) {
    const year = 1990 + rng.nextInt(30);
    const pop = 1e5 + rng.next() * 1e8;
    const primary = rng.next() * 5000;
    const renew = primary * rng.next() * 0.5;
    const row = [year, pop, pop * (1000 + rng.next() * 40_000), primary, primary - renew, renew];
    X.set(row, i * NF);
    y.push((100 * renew) / Math.max(primary, 1e-3));
  }
  return { X, y };
}

describe('exportOnnx on a synthetic model', () => {
  const data = syntheticTable(1500, 21);
  let model: TreeEnsemble;
  let bytes: Uint8Array;
  beforeAll(() => {
    model = trainGbdt({ rowMajor: data.X, nCols: NF }, data.y, { nEstimators: 120, subsample: 0.8 });
    bytes = exportOnnx(model, { modelName: MODEL_NAME, version: 7 });
  });

  it('is one ai.onnx.ml TreeEnsembleRegressor with the schema input and output', () => {
    const decoded = onnx.ModelProto.decode(bytes);
    const graph = decoded.graph!;
    expect(graph.node!).toHaveLength(1);
    const node = graph.node![0]!;
    expect(node.opType).toBe('TreeEnsembleRegressor');
    expect(node.domain).toBe('ai.onnx.ml');
    expect(node.input).toEqual([ONNX_INPUT]);
    expect(node.output).toEqual([ONNX_OUTPUT]);
    const opsets = Object.fromEntries(decoded.opsetImport.map((o) => [o.domain ?? '', Number(o.version)]));
    expect(opsets['ai.onnx.ml']).toBe(3);
    expect(opsets['']).toBeGreaterThanOrEqual(18);
    const attr = Object.fromEntries(node.attribute!.map((a) => [a.name, a]));
    expect(new TextDecoder().decode(attr.aggregate_function!.s!)).toBe('SUM');
    expect(new TextDecoder().decode(attr.post_transform!.s!)).toBe('NONE');
    expect(Number(attr.n_targets!.i)).toBe(1);
    expect(attr.base_values!.floats).toEqual([model.baseScore]);
    const nNodes = model.trees.reduce((s, t) => s + t.feature.length, 0);
    const nLeaves = model.trees.reduce((s, t) => s + t.feature.filter((f) => f < 0).length, 0);
    expect(attr.nodes_nodeids!.ints).toHaveLength(nNodes);
    expect(attr.target_weights!.floats).toHaveLength(nLeaves);
    const input = graph.input![0]!.type!.tensorType!;
    expect(input.elemType).toBe(onnx.TensorProto.DataType.FLOAT);
    expect(input.shape!.dim!.map((d) => d.dimParam || Number(d.dimValue))).toEqual(['N', NF]);
    const output = graph.output![0]!.type!.tensorType!;
    expect(output.shape!.dim!.map((d) => d.dimParam || Number(d.dimValue))).toEqual(['N', 1]);
    expect(Number(decoded.modelVersion)).toBe(7);
  });

  it('carries readable metadata', () => {
    expect(readOnnxMetadata(bytes)).toEqual({
      feature_names: FEATURES.join(','),
      target: TARGET,
      model_name: MODEL_NAME,
      model_version: '7',
      framework: ONNX_FRAMEWORK,
    });
    const noVersion = readOnnxMetadata(exportOnnx(model, { modelName: 'm', extra: { run_id: 'abc' } }));
    expect(noVersion.model_version).toBeUndefined();
    expect(noVersion.run_id).toBe('abc');
  });

  it('is byte-identical for the same model', () => {
    expect(Buffer.from(exportOnnx(model, { modelName: MODEL_NAME, version: 7 })).equals(Buffer.from(bytes))).toBe(true);
  });

  it('matches the TypeScript predictions in onnxruntime, output [N, 1]', async () => {
    const out = await runOnnx(bytes, data.X);
    expect(out.dims).toEqual([1500, 1]);
    expect(out.type).toBe('float32');
    expect(maxAbsDiff(out.data as Float32Array, predict(model, { rowMajor: data.X, nCols: NF }))).toBeLessThanOrEqual(1e-4);
  });

  it('takes the same branch on inputs at, just above and just below every threshold', async () => {
    const X = adversarialRows(model, data.X.subarray(0, NF));
    expect(X.length / NF).toBeGreaterThan(1000);
    const ts = predict(model, { rowMajor: X, nCols: NF });
    // Single-threaded onnxruntime sums trees in order in float32, as predict does: results are identical.
    expect(maxAbsDiff((await runOnnx(bytes, X, 1)).data as Float32Array, ts)).toBe(0);
    expect(maxAbsDiff((await runOnnx(bytes, X)).data as Float32Array, ts)).toBeLessThanOrEqual(1e-4);
  });

  it('rounds float64 inputs to float32 before comparing, as the float32 tensor does', () => {
    const tree = model.trees[0]!;
    const f = tree.feature[0]!;
    const t = tree.threshold[0]!;
    const row = Array.from(data.X.subarray(0, NF));
    row[f] = t;
    const at = predict(model, [row])[0];
    // A float64 a hair above t still rounds to t in float32, so it must go left like t itself.
    const justAbove = t + Math.abs(t) * 1e-12 + 1e-300;
    expect(Math.fround(justAbove)).toBe(t);
    row[f] = justAbove;
    expect(predict(model, [row])[0]).toBe(at);
  });

  it('exports a base-score-only model (early stopping kept 0 trees)', async () => {
    const empty: TreeEnsemble = { ...model, trees: [], nTrees: 0, bestIteration: 0 };
    const out = await runOnnx(exportOnnx(empty, { modelName: 'empty' }), data.X.subarray(0, 3 * NF));
    expect(Array.from(out.data as Float32Array)).toEqual([model.baseScore, model.baseScore, model.baseScore]);
    expect(Array.from(predict(empty, { rowMajor: data.X.subarray(0, 3 * NF), nCols: NF }))).toEqual([model.baseScore, model.baseScore, model.baseScore]);
  });

  it('rejects bad metadata, bad models and non-ONNX bytes with readable errors', () => {
    expect(() => exportOnnx(model, { modelName: '' })).toThrow(/modelName must be a non-empty string/);
    expect(() => exportOnnx(model, { modelName: 'm', version: 0 })).toThrow(/version must be a positive integer/);
    expect(() => exportOnnx(model, { modelName: 'm', extra: { target: 'x' } })).toThrow(/'target' is reserved/);
    expect(() => exportOnnx({ ...model, format: 'nope' } as never, { modelName: 'm' })).toThrow(/unsupported model format/);
    expect(() => readOnnxMetadata(Uint8Array.from([0xff, 0xff, 0xff, 0xff]))).toThrow(/not a valid ONNX model/);
    expect(() => readOnnxMetadata(new Uint8Array(0))).toThrow(/no graph/);
  });
});

describe.skipIf(!HAS_OWID)(`exportOnnx on the OWID table (${HAS_OWID ? 'present' : OWID_SKIP_MESSAGE})`, () => {
  it('TypeScript and onnxruntime agree on every complete row and on threshold-adjacent inputs', async () => {
    const table = await loadTable(OWID_CSV);
    const X = Float32Array.from(table.X);
    const model = trainGbdt({ rowMajor: X, nCols: NF }, table.y, {});
    const bytes = exportOnnx(model, { modelName: MODEL_NAME, version: 1 });
    const ts = predict(model, { rowMajor: X, nCols: NF });
    const out = await runOnnx(bytes, X);
    expect(out.dims).toEqual([table.usedRows, 1]);
    const diffDefault = maxAbsDiff(out.data as Float32Array, ts);
    const diffSingle = maxAbsDiff((await runOnnx(bytes, X, 1)).data as Float32Array, ts);
    const adversarial = adversarialRows(model, X.subarray(0, NF));
    const diffAdversarial = maxAbsDiff((await runOnnx(bytes, adversarial)).data as Float32Array, predict(model, { rowMajor: adversarial, nCols: NF }));
    console.info(
      `OWID parity over ${table.usedRows} rows: max |TS − ORT| = ${diffDefault} (default threads), ${diffSingle} (1 thread); ` +
        `${adversarial.length / NF} threshold-adjacent rows: ${diffAdversarial}`,
    );
    expect(diffDefault).toBeLessThanOrEqual(1e-4);
    expect(diffSingle).toBe(0);
    expect(diffAdversarial).toBeLessThanOrEqual(1e-4);
  });
});
