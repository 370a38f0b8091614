import { describe, expect, it } from 'vitest';
import { UserError } from '../errors';
import { loadTable, selectRows } from '../data';
import { regressionMetrics } from '../metrics';
import { createRng } from '../random';
import { FEATURES } from '../schema';
import { randomSplit } from '../split';
import { HAS_OWID, OWID_CSV, OWID_SKIP_MESSAGE } from '../../test/support/paths';
import {
  DEFAULT_EARLY_STOPPING,
  DEFAULT_GBDT_PARAMS,
  parseModel,
  predict,
  predictRow,
  quantileBinEdges,
  serializeModel,
  trainGbdt,
  type TreeEnsemble,
} from './gbdt';

/** n rows of `nCols` uniform features in [0, 1) and a target computed from them. */
function synthetic(n: number, nCols: number, seed: number, f: (x: number[], rng: ReturnType<typeof createRng>) => number) {
  const rng = createRng(seed);
  const X: number[][] = [];
  const y: number[] = [];
  for (let i = 0; i < n; i++) {
    const row = Array.from({ length: nCols }, () => rng.next());
    X.push(row);
    y.push(f(row, rng));
  }
  return { X, y };
}

const names3 = ['a', 'b', 'c'];

function mse(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < yTrue.length; i++) s += ((yTrue[i] as number) - (yPred[i] as number)) ** 2;
  return s / yTrue.length;
}

describe('trainGbdt: determinism', () => {
  const data = synthetic(600, 3, 1, (x, rng) => 5 * (x[0] as number) + Math.sin(6 * (x[1] as number)) + 0.1 * rng.normal());

  it('same data, params and seed give byte-identical models', () => {
    const params = { nEstimators: 30, subsample: 0.7, seed: 5 };
    const a = serializeModel(trainGbdt(data.X, data.y, params, { featureNames: names3 }));
    const b = serializeModel(trainGbdt(data.X, data.y, params, { featureNames: names3 }));
    expect(a).toBe(b);
  });

  it('a different seed with row subsampling gives a different model', () => {
    const a = serializeModel(trainGbdt(data.X, data.y, { nEstimators: 30, subsample: 0.7, seed: 5 }, { featureNames: names3 }));
    const b = serializeModel(trainGbdt(data.X, data.y, { nEstimators: 30, subsample: 0.7, seed: 6 }, { featureNames: names3 }));
    expect(a).not.toBe(b);
  });

  it('accepts rows, row-major and column inputs alike', () => {
    const rowMajor = new Float64Array(data.X.flat());
    const columns = [0, 1, 2].map((j) => Float64Array.from(data.X, (r) => r[j] as number));
    const p = { nEstimators: 10 };
    const a = serializeModel(trainGbdt(data.X, data.y, p, { featureNames: names3 }));
    expect(serializeModel(trainGbdt({ rowMajor, nCols: 3 }, data.y, p, { featureNames: names3 }))).toBe(a);
    expect(serializeModel(trainGbdt({ columns }, data.y, p, { featureNames: names3 }))).toBe(a);
  });

  it('round-trips through JSON and predicts the same', () => {
    const model = trainGbdt(data.X, data.y, { nEstimators: 20 }, { featureNames: names3 });
    const back = parseModel(serializeModel(model));
    expect(Array.from(predict(back, data.X))).toEqual(Array.from(predict(model, data.X)));
    expect(back.nTrees).toBe(20);
  });
});

describe('trainGbdt: learning', () => {
  it('fits a step function exactly, with the threshold between the steps', () => {
    const { X, y } = synthetic(400, 3, 2, (x) => ((x[1] as number) > 0.5 ? 10 : 0));
    const model = trainGbdt(X, y, { nEstimators: 50, learningRate: 0.5 }, { featureNames: names3 });
    const p = predict(model, X);
    expect(Math.max(...Array.from(p, (v, i) => Math.abs(v - (y[i] as number))))).toBeLessThan(1e-3);
    const root = model.trees[0]!;
    expect(root.feature[0]).toBe(1);
    expect(root.threshold[0]).toBeLessThanOrEqual(0.5);
    // The threshold is the largest training value of feature b at or below 0.5, so it is a float32.
    const below = X.map((r) => Math.fround(r[1] as number)).filter((v) => v <= 0.5);
    expect(root.threshold[0]).toBe(Math.max(...below));
    expect(predictRow(model, [0.3, 0.2, 0.9])).toBeCloseTo(0, 2);
    expect(predictRow(model, [0.3, 0.8, 0.9])).toBeCloseTo(10, 2);
  });

  it('learns a linear function well on held-out rows', () => {
    const gen = (x: number[], rng: ReturnType<typeof createRng>) => 3 * (x[0] as number) - 2 * (x[2] as number) + 0.05 * rng.normal();
    const train = synthetic(2000, 3, 3, gen);
    const test = synthetic(500, 3, 4, gen);
    const model = trainGbdt(train.X, train.y, {}, { featureNames: names3 });
    expect(regressionMetrics(test.y, predict(model, test.X)).r2).toBeGreaterThan(0.98);
  });

  it('gain importances sum to 1 and rank the informative feature first', () => {
    const { X, y } = synthetic(1000, 3, 5, (x, rng) => 4 * (x[2] as number) ** 2 + 0.3 * (x[0] as number) + 0.1 * rng.normal());
    const model = trainGbdt(X, y, { nEstimators: 50 }, { featureNames: names3 });
    const imp = model.featureImportances;
    expect(Object.keys(imp)).toEqual(names3);
    expect(Object.values(imp).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(imp.c).toBeGreaterThan(imp.a!);
    expect(imp.a).toBeGreaterThan(imp.b!);
  });

  it('uses the schema FEATURES as names for six columns', () => {
    const { X, y } = synthetic(100, 6, 6, (x) => x[0] as number);
    const model = trainGbdt(X, y, { nEstimators: 3 });
    expect(model.featureNames).toEqual([...FEATURES]);
    expect(Object.keys(model.featureImportances)).toEqual([...FEATURES]);
  });
});

describe('trainGbdt: early stopping', () => {
  it('stops early on a pure-noise target and keeps the best iteration', () => {
    const { X, y } = synthetic(800, 3, 7, (_x, rng) => rng.normal());
    const params = { nEstimators: 300, earlyStopping: { validationFraction: 0.25, nIterNoChange: 5, tol: 0 } };
    const model = trainGbdt(X, y, params, { featureNames: names3 });
    expect(model.bestIteration).not.toBeNull();
    expect(model.nTrees).toBe(model.bestIteration);
    expect(model.nTrees).toBeLessThan(20);
    expect(model.trees.length).toBe(model.nTrees);
  });

  it('with an explicit validation set keeps exactly the trees up to the validation minimum', () => {
    const gen = (x: number[], rng: ReturnType<typeof createRng>) => 2 * (x[0] as number) + rng.normal();
    const train = synthetic(600, 3, 8, gen);
    const valid = synthetic(300, 3, 9, gen);
    const es = trainGbdt(train.X, train.y, { nEstimators: 200, earlyStopping: { validationFraction: 0.1, nIterNoChange: 10, tol: 0 } }, {
      featureNames: names3,
      validation: valid,
    });
    const best = es.bestIteration!;
    expect(best).toBeGreaterThan(0);
    expect(best).toBeLessThan(200);
    // The same training without early stopping grows the same trees; the kept ones are its prefix.
    const full = trainGbdt(train.X, train.y, { nEstimators: best + 10 }, { featureNames: names3 });
    expect(JSON.stringify(es.trees)).toBe(JSON.stringify(full.trees.slice(0, best)));
    // And the prefix is the validation optimum among everything early stopping looked at.
    const lossAt = (k: number) => mse(valid.y, predict({ ...full, trees: full.trees.slice(0, k), nTrees: k }, valid.X));
    const bestLoss = lossAt(best);
    for (let k = Math.max(1, best - 5); k <= best + 10; k++) expect(bestLoss).toBeLessThanOrEqual(lossAt(k) + 1e-4);
  });

  it('an explicit validation set alone turns early stopping on with the defaults, recorded in params', () => {
    const gen = (x: number[], rng: ReturnType<typeof createRng>) => (x[0] as number) + rng.normal();
    const model = trainGbdt(synthetic(300, 3, 17, gen).X, synthetic(300, 3, 17, gen).y, { nEstimators: 300 }, {
      featureNames: names3,
      validation: synthetic(200, 3, 18, gen),
    });
    expect(model.params.earlyStopping).toEqual(DEFAULT_EARLY_STOPPING);
    expect(model.bestIteration).toBe(model.nTrees);
    expect(model.nTrees).toBeLessThan(300);
    expect(trainGbdt([[1, 2, 3], [2, 3, 4]], [1, 2], {}, { featureNames: names3 }).params.earlyStopping).toBeNull();
  });
});

describe('trainGbdt: edge cases and bad input', () => {
  it('rejects empty data', () => {
    expect(() => trainGbdt([], [], {}, { featureNames: names3 })).toThrow(/empty/);
  });

  it('names the row and column of a NaN feature and the row of a NaN target', () => {
    const { X, y } = synthetic(10, 6, 10, (x) => x[0] as number);
    X[4]![2] = Number.NaN;
    expect(() => trainGbdt(X, y)).toThrow(UserError);
    expect(() => trainGbdt(X, y)).toThrow(/row 4, column 2 \('gdp'\) is NaN/);
    X[4]![2] = 1;
    y[7] = Number.NaN;
    expect(() => trainGbdt(X, y)).toThrow(/target row 7 is NaN/);
    y[7] = 1;
    X[1]![0] = 1e39;
    expect(() => trainGbdt(X, y)).toThrow(/row 1, column 0 \('year'\).*float32 range/);
  });

  it('rejects shape mismatches', () => {
    expect(() => trainGbdt([[1, 2]], [1], {}, { featureNames: names3 })).toThrow(/row 0 has 2 values, expected 3/);
    expect(() => trainGbdt([[1, 2, 3]], [1, 2], {}, { featureNames: names3 })).toThrow(/target has 2 values but X has 1 rows/);
    expect(() => trainGbdt({ rowMajor: [1, 2, 3, 4], nCols: 3 }, [1], {}, { featureNames: names3 })).toThrow(/not a multiple of 3/);
  });

  it('rejects out-of-range and unknown parameters', () => {
    const { X, y } = synthetic(20, 3, 11, (x) => x[0] as number);
    const opts = { featureNames: names3 };
    expect(() => trainGbdt(X, y, { maxBins: 256 }, opts)).toThrow(/maxBins must be an integer in \[2, 255\]/);
    expect(() => trainGbdt(X, y, { maxBins: 1 }, opts)).toThrow(/maxBins/);
    expect(() => trainGbdt(X, y, { subsample: 0 }, opts)).toThrow(/subsample/);
    expect(() => trainGbdt(X, y, { learningRate: -1 }, opts)).toThrow(/learningRate/);
    expect(() => trainGbdt(X, y, { nEstimators: 2.5 }, opts)).toThrow(/nEstimators/);
    expect(() => trainGbdt(X, y, { maxDepht: 3 } as never, opts)).toThrow(/unknown GBDT parameter 'maxDepht'/);
  });

  it('predicts a constant target exactly with single-leaf trees', () => {
    const { X } = synthetic(200, 3, 12, () => 0);
    const y = X.map(() => 0.1);
    const model = trainGbdt(X, y, { nEstimators: 5 }, { featureNames: names3 });
    for (const tree of model.trees) expect(tree.feature).toEqual([-1]);
    for (const v of predict(model, X)) expect(v).toBe(Math.fround(0.1));
    expect(Object.values(model.featureImportances)).toEqual([0, 0, 0]);
  });

  it('grows single-leaf trees when N < 2·minSamplesLeaf', () => {
    const { X, y } = synthetic(9, 3, 13, (x) => 10 * (x[0] as number));
    const model = trainGbdt(X, y, { nEstimators: 3, minSamplesLeaf: 5 }, { featureNames: names3 });
    for (const tree of model.trees) expect(tree.feature).toEqual([-1]);
    const mean = y.reduce((a, b) => a + b, 0) / y.length;
    expect(predictRow(model, X[0]!)).toBeCloseTo(mean * (1 - 0.9 ** 3) + Math.fround(mean) * 0.9 ** 3, 4);
  });

  it('respects minSamplesLeaf, maxDepth and maxLeaves', () => {
    const { X, y } = synthetic(500, 3, 14, (x, rng) => Math.sin(10 * (x[0] as number)) + rng.normal());
    const model = trainGbdt(X, y, { nEstimators: 5, maxDepth: 3, maxLeaves: 6, minSamplesLeaf: 20 }, { featureNames: names3 });
    for (const tree of model.trees) {
      const leaves = tree.feature.filter((f) => f < 0).length;
      expect(leaves).toBeLessThanOrEqual(6);
      const depth = (node: number): number => (tree.feature[node]! < 0 ? 0 : 1 + Math.max(depth(tree.left[node]!), depth(tree.right[node]!)));
      expect(depth(0)).toBeLessThanOrEqual(3);
    }
    // Count training rows per leaf of the first tree.
    const tree = model.trees[0]!;
    const counts = new Map<number, number>();
    for (const row of X) {
      let node = 0;
      while (tree.feature[node]! >= 0) node = Math.fround(row[tree.feature[node]!]!) <= tree.threshold[node]! ? tree.left[node]! : tree.right[node]!;
      counts.set(node, (counts.get(node) ?? 0) + 1);
    }
    for (const c of counts.values()) expect(c).toBeGreaterThanOrEqual(20);
  });

  it('predict rejects NaN and wrong widths with readable errors', () => {
    const { X, y } = synthetic(50, 3, 15, (x) => x[0] as number);
    const model = trainGbdt(X, y, { nEstimators: 2 }, { featureNames: names3 });
    expect(() => predict(model, [[1, Number.NaN, 3]])).toThrow(/row 0, column 1 \('b'\) is NaN/);
    expect(() => predict(model, [[1, 2]])).toThrow(/expected 3/);
  });

  it('parseModel rejects malformed models', () => {
    expect(() => parseModel('{')).toThrow(/not valid JSON/);
    expect(() => parseModel({ format: 'other' })).toThrow(/unsupported model format/);
    const { X, y } = synthetic(50, 3, 16, (x) => x[0] as number);
    const model = JSON.parse(serializeModel(trainGbdt(X, y, { nEstimators: 2 }, { featureNames: names3 }))) as TreeEnsemble;
    model.trees[0]!.left[0] = 0;
    expect(() => parseModel(model)).toThrow(/invalid children/);
  });
});

describe('quantileBinEdges', () => {
  it('uses every distinct value when there are few, and data values as quantile edges otherwise', () => {
    expect(Array.from(quantileBinEdges(Float32Array.from([3, 1, 2, 2, 1]), 255))).toEqual([1, 2]);
    const values = Float32Array.from({ length: 10_000 }, (_, i) => Math.fround(Math.sqrt(i) / 7));
    const edges = quantileBinEdges(values, 16);
    expect(edges.length).toBeLessThanOrEqual(15);
    expect(edges.length).toBeGreaterThanOrEqual(14);
    const set = new Set(values);
    for (let k = 0; k < edges.length; k++) {
      expect(set.has(edges[k]!)).toBe(true);
      if (k > 0) expect(edges[k]!).toBeGreaterThan(edges[k - 1]!);
    }
  });
});

describe.skipIf(!HAS_OWID)(`OWID table (${HAS_OWID ? 'present' : OWID_SKIP_MESSAGE})`, () => {
  it('reaches R² ≥ 0.96 on a seeded 80/20 split with the default parameters', async () => {
    const table = await loadTable(OWID_CSV);
    expect(table.usedRows).toBeGreaterThan(4000);
    const split = randomSplit(table.usedRows, 0.2, 42);
    const train = selectRows(table, split.train);
    const test = selectRows(table, split.test);
    const model = trainGbdt({ rowMajor: train.X, nCols: FEATURES.length }, train.y, DEFAULT_GBDT_PARAMS);
    expect(model.nTrees).toBe(DEFAULT_GBDT_PARAMS.nEstimators);
    const r2 = regressionMetrics(test.y, predict(model, { rowMajor: test.X, nCols: FEATURES.length })).r2;
    console.info(`OWID default-params test R² = ${r2.toFixed(4)} (${train.usedRows} train / ${test.usedRows} test rows)`);
    expect(r2).toBeGreaterThanOrEqual(0.96);
  });
});
