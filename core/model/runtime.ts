import type { InferenceSession } from 'onnxruntime-node';
import { UserError } from '../errors';
import { N_FEATURES, ONNX_INPUT, ONNX_OUTPUT } from '../schema';

/**
 * A loaded ONNX model with the feature-schema contract: input `[N, 6]` float32, output `[N, 1]`.
 * onnxruntime-node is imported on first use so that commands that never score do not load it.
 */
export class OnnxModel {
  private constructor(
    private readonly session: InferenceSession,
    private readonly ort: typeof import('onnxruntime-node'),
  ) {}

  static async load(bytes: Uint8Array, options: { intraOpNumThreads?: number } = {}): Promise<OnnxModel> {
    const ort = await import('onnxruntime-node');
    let session: InferenceSession;
    try {
      session = await ort.InferenceSession.create(bytes, {
        intraOpNumThreads: options.intraOpNumThreads ?? 1,
        interOpNumThreads: 1,
        graphOptimizationLevel: 'all',
      });
    } catch (err) {
      throw new UserError(`cannot load ONNX model: ${(err as Error).message.split('\n')[0]}`);
    }
    if (!session.inputNames.includes(ONNX_INPUT) || !session.outputNames.includes(ONNX_OUTPUT)) {
      await session.release();
      throw new UserError(
        `ONNX model does not follow the feature schema: expected input '${ONNX_INPUT}' and output '${ONNX_OUTPUT}', ` +
          `got inputs [${session.inputNames.join(', ')}] and outputs [${session.outputNames.join(', ')}]`,
      );
    }
    return new OnnxModel(session, ort);
  }

  /** Scores rows given as a row-major float32 matrix (N × 6) or as arrays of 6 numbers. */
  async predict(rows: Float32Array | number[][]): Promise<Float32Array> {
    let data: Float32Array;
    if (rows instanceof Float32Array) {
      data = rows;
    } else {
      data = new Float32Array(rows.length * N_FEATURES);
      rows.forEach((r, i) => data.set(r, i * N_FEATURES));
    }
    const n = data.length / N_FEATURES;
    if (!Number.isInteger(n)) throw new RangeError(`input has ${data.length} values, not a multiple of ${N_FEATURES}`);
    if (n === 0) return new Float32Array(0);
    const input = new this.ort.Tensor('float32', data, [n, N_FEATURES]);
    const out = await this.session.run({ [ONNX_INPUT]: input });
    const tensor = out[ONNX_OUTPUT];
    if (!tensor) throw new Error(`ONNX model returned no '${ONNX_OUTPUT}' output`);
    return tensor.data as Float32Array;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
