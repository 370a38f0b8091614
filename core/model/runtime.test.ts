import { beforeAll, describe, expect, it } from 'vitest';
import { toFloat32 } from '../data';
import { MODEL_NAME } from '../schema';
import { syntheticTable } from '../synthetic';
import { DEFAULT_GBDT_PARAMS, trainGbdt } from './gbdt';
import { exportOnnx } from './onnx';
import { OnnxModel } from './runtime';

let bytes: Uint8Array;
let X: Float32Array;

beforeAll(() => {
  const table = syntheticTable({ seed: 3 });
  X = toFloat32(table.X);
  bytes = exportOnnx(trainGbdt(X, table.y, { ...DEFAULT_GBDT_PARAMS, nEstimators: 30 }), { modelName: MODEL_NAME });
});

describe('OnnxModel', () => {
  it("calls onnxruntime-node's native session directly with the locked version", async () => {
    const model = await OnnxModel.load(bytes);
    expect(model.api).toBe('native');
    await model.release();
  });

  it('scores exactly as the public InferenceSession API, row by row and in one batch', async () => {
    const native = await OnnxModel.load(bytes, { api: 'native' });
    const pub = await OnnxModel.load(bytes, { api: 'public' });
    expect(pub.api).toBe('public');
    try {
      const all = await native.predict(X);
      expect(Array.from(all)).toEqual(Array.from(await pub.predict(X)));
      for (let i = 0; i < 200; i++) {
        const row = X.subarray(i * 6, i * 6 + 6);
        expect((await native.predict(row))[0]).toBe(all[i]);
        expect((await pub.predict(row))[0]).toBe(all[i]);
      }
      expect(await native.predict(new Float32Array(0))).toHaveLength(0);
      await expect(native.predict(new Float32Array(7))).rejects.toThrow(/not a multiple of 6/);
    } finally {
      await native.release();
      await pub.release();
    }
  });

  it('scores synchronously on the native session (also without spin-waiting threads), and refuses on the public API', async () => {
    const reference = await OnnxModel.load(bytes);
    const quiet = await OnnxModel.load(bytes, { spinning: false });
    const quiet2 = await OnnxModel.load(bytes, { intraOpNumThreads: 2, spinning: false });
    const pub = await OnnxModel.load(bytes, { api: 'public' });
    try {
      const all = await reference.predict(X);
      expect(Array.from(reference.predictSync(X))).toEqual(Array.from(all));
      expect(Array.from(quiet.predictSync(X))).toEqual(Array.from(all));
      // Two threads split the trees, so the float32 sums may round differently in the last bits.
      const two = quiet2.predictSync(X);
      expect(two).toHaveLength(all.length);
      two.forEach((p, i) => expect(Math.abs(p - all[i]!)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(all[i]!))));
      expect(reference.predictSync(new Float32Array(0))).toHaveLength(0);
      expect(() => reference.predictSync(new Float32Array(5))).toThrow(/not a multiple of 6/);
      expect(() => pub.predictSync(X.subarray(0, 6))).toThrow(/native session/);
    } finally {
      await reference.release();
      await quiet.release();
      await quiet2.release();
      await pub.release();
    }
  });

  it('refuses bytes that are not a model with one UserError line, whichever API', async () => {
    for (const api of ['native', 'public'] as const) {
      await expect(OnnxModel.load(new TextEncoder().encode('not a model'), { api })).rejects.toMatchObject({ name: 'UserError', message: expect.stringMatching(/^cannot load ONNX model: [^\n]+$/) });
    }
  });

  it('fails clearly when used after release (release twice is harmless)', async () => {
    const model = await OnnxModel.load(bytes);
    await model.release();
    await model.release();
    await expect(model.predict(X.subarray(0, 6))).rejects.toThrow(/released/);
  });
});
