import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { UserError } from '../errors';
import { N_FEATURES, ONNX_INPUT, ONNX_OUTPUT } from '../schema';

/**
 * The session onnxruntime-node's own `InferenceSession` wraps (`onnxruntime-node/dist/binding`): the same native
 * object, called directly. Its `run` is synchronous; the public API defers the same call with `setImmediate` and
 * validates the arguments in JavaScript first, which together cost about as much as scoring one row with the
 * native call (~18 µs against ~10 µs per call measured). Used when the binding has the expected shape (checked
 * at load; a test pins it for the locked version), else the public API.
 */
interface NativeSession {
  loadModel(buffer: ArrayBufferLike, byteOffset: number, byteLength: number, options: object): void;
  run(feeds: Record<string, Tensor>, fetches: Record<string, null>, options: object): Record<string, Tensor | undefined>;
  readonly inputMetadata: ReadonlyArray<{ name: string }>;
  readonly outputMetadata: ReadonlyArray<{ name: string }>;
  dispose(): void;
}

interface NativeBinding {
  binding: { InferenceSession: new () => NativeSession };
  initOrt(): void;
}

type Ort = typeof import('onnxruntime-node');

/** The native binding, or null when this onnxruntime-node version does not expose it as expected. */
function nativeBinding(): NativeBinding | null {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require('onnxruntime-node/dist/binding') as Partial<NativeBinding>;
    if (typeof mod.initOrt !== 'function' || typeof mod.binding?.InferenceSession !== 'function') return null;
    const proto = mod.binding.InferenceSession.prototype as Partial<NativeSession>;
    if (typeof proto.run !== 'function' || typeof proto.loadModel !== 'function' || typeof proto.dispose !== 'function') return null;
    return mod as NativeBinding;
  } catch {
    return null;
  }
}

interface Engine {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(input: Tensor): Float32Array | Promise<Float32Array>;
  release(): Promise<void>;
}

/**
 * A loaded ONNX model with the feature-schema contract: input `[N, 6]` float32, output `[N, 1]`.
 * onnxruntime-node is loaded on first use so that commands that never score do not load it.
 */
export class OnnxModel {
  private constructor(
    private readonly engine: Engine,
    private readonly ort: Ort,
    /** `native` when scoring calls onnxruntime's native session directly, `public` through `InferenceSession`. */
    readonly api: 'native' | 'public',
  ) {}

  /**
   * `intraOpNumThreads` (default 1) sizes onnxruntime's thread pool; `spinning: false` stops its threads from
   * spin-waiting for the next call (onnxruntime's `session.intra_op.allow_spinning`), for callers that share the
   * cores with other busy threads; `api` forces the public API (tests).
   */
  static async load(bytes: Uint8Array, options: { intraOpNumThreads?: number; api?: 'native' | 'public'; spinning?: boolean } = {}): Promise<OnnxModel> {
    // `require`, not `import()`: onnxruntime-node is CommonJS, and `import()` would first have Node's ESM loader scan
    // its modules for export names (~12 ms of every cold start measured).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const ort = require('onnxruntime-node') as Ort;
    const sessionOptions = {
      intraOpNumThreads: options.intraOpNumThreads ?? 1,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all' as const,
      ...(options.spinning === false ? { extra: { session: { intra_op: { allow_spinning: '0' } } } } : {}),
    };
    const native = options.api === 'public' ? null : nativeBinding();
    let engine: Engine;
    try {
      engine = native ? nativeEngine(native, bytes, sessionOptions) : publicEngine(await ort.InferenceSession.create(bytes, sessionOptions));
    } catch (err) {
      throw new UserError(`cannot load ONNX model: ${(err as Error).message.split('\n')[0]}`);
    }
    if (!engine.inputNames.includes(ONNX_INPUT) || !engine.outputNames.includes(ONNX_OUTPUT)) {
      await engine.release();
      throw new UserError(
        `ONNX model does not follow the feature schema: expected input '${ONNX_INPUT}' and output '${ONNX_OUTPUT}', ` +
          `got inputs [${engine.inputNames.join(', ')}] and outputs [${engine.outputNames.join(', ')}]`,
      );
    }
    return new OnnxModel(engine, ort, native ? 'native' : 'public');
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
    const input = this.tensorOf(data);
    return input === null ? new Float32Array(0) : this.engine.run(input);
  }

  /**
   * Scores a row-major float32 matrix (N × 6) synchronously: only on onnxruntime's native session (`api` 'native'),
   * for callers that cannot wait for a promise (batch scoring runs the model inside a DuckDB query).
   */
  predictSync(data: Float32Array): Float32Array {
    if (this.api !== 'native') throw new Error("synchronous scoring needs onnxruntime-node's native session (this model uses the public API)");
    const input = this.tensorOf(data);
    return input === null ? new Float32Array(0) : (this.engine.run(input) as Float32Array);
  }

  /** The `[N, 6]` input tensor over `data` (no copy), or null for zero rows. */
  private tensorOf(data: Float32Array): Tensor | null {
    const n = data.length / N_FEATURES;
    if (!Number.isInteger(n)) throw new RangeError(`input has ${data.length} values, not a multiple of ${N_FEATURES}`);
    return n === 0 ? null : new this.ort.Tensor('float32', data, [n, N_FEATURES]);
  }

  async release(): Promise<void> {
    await this.engine.release();
  }
}

function outputOf(out: Record<string, Tensor | undefined>): Float32Array {
  const tensor = out[ONNX_OUTPUT];
  if (!tensor) throw new Error(`ONNX model returned no '${ONNX_OUTPUT}' output`);
  return tensor.data as Float32Array;
}

function publicEngine(session: InferenceSession): Engine {
  return {
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    run: async (input) => outputOf(await session.run({ [ONNX_INPUT]: input })),
    release: () => session.release(),
  };
}

function nativeEngine(native: NativeBinding, bytes: Uint8Array, options: object): Engine {
  native.initOrt();
  const session = new native.binding.InferenceSession();
  session.loadModel(bytes.buffer, bytes.byteOffset, bytes.byteLength, options);
  const fetches = { [ONNX_OUTPUT]: null };
  const runOptions = {};
  let released = false;
  return {
    inputNames: session.inputMetadata.map((m) => m.name),
    outputNames: session.outputMetadata.map((m) => m.name),
    run: (input) => {
      if (released) throw new Error('the ONNX session was released');
      return outputOf(session.run({ [ONNX_INPUT]: input }, fetches, runOptions));
    },
    release: async () => {
      if (released) return;
      released = true;
      session.dispose();
    },
  };
}
