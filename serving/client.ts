/**
 * Typed client for the scoring endpoint (this server, and Databricks Model Serving for `predict`).
 *
 * The endpoint comes from, in order: the `url` argument, `MLOPS_ENDPOINT_URL`, or a `pulumi stack output --json`
 * file (`stackOutputs` argument or `MLOPS_STACK_OUTPUTS`; its `invocationsUrl` / `endpointUrl` outputs). The API
 * key comes from the `apiKey` argument or `MLOPS_API_KEY` (stack outputs only name the Key Vault secret, never the
 * value).
 */
import { readFileSync } from 'node:fs';
import { FEATURES, type Feature } from '../core/schema';

export type FeatureRow = Record<Feature, number>;

export interface ClientOptions {
  /** Base URL of the endpoint (`https://<app>.<region>.azurecontainerapps.io`) or its `/invocations` URL. */
  url?: string;
  apiKey?: string;
  /** Path of a `pulumi stack output --json` file. */
  stackOutputs?: string;
  timeoutMs?: number;
  /** Environment to read (defaults to process.env). */
  env?: Record<string, string | undefined>;
}

export interface PredictOptions {
  /** Score with one alias, bypassing the split (`/served-models/<alias>/invocations`). */
  alias?: string;
  /** Sticky routing: the same key always lands on the same alias. */
  routingKey?: string;
  /** Your id for this request, logged with every row (join labels on it later). */
  clientRequestId?: string;
  requestId?: string;
}

export interface Prediction {
  predictions: number[];
  /** `<alias>/<version>` that scored the rows. */
  servedModel: string | null;
  requestId: string | null;
}

export class ScoringClientError extends Error {
  override readonly name = 'ScoringClientError';
  constructor(
    message: string,
    readonly status: number,
    readonly errorCode: string | null,
  ) {
    super(message);
  }
}

export class ScoringClient {
  readonly invocationsUrl: string;
  readonly baseUrl: string;
  private readonly apiKey: string | undefined;
  private readonly timeoutMs: number;

  constructor(options: ClientOptions = {}) {
    const env = options.env ?? process.env;
    let url = options.url ?? env.MLOPS_ENDPOINT_URL;
    const outputsFile = options.stackOutputs ?? env.MLOPS_STACK_OUTPUTS;
    if (!url && outputsFile) url = urlFromStackOutputs(outputsFile);
    if (!url) {
      throw new Error('no endpoint URL: pass url, set MLOPS_ENDPOINT_URL, or give a `pulumi stack output --json` file (stackOutputs / MLOPS_STACK_OUTPUTS)');
    }
    const trimmed = url.replace(/\/+$/, '');
    this.invocationsUrl = trimmed.endsWith('/invocations') ? trimmed : `${trimmed}/invocations`;
    this.baseUrl = this.invocationsUrl.slice(0, -'/invocations'.length);
    this.apiKey = options.apiKey ?? env.MLOPS_API_KEY ?? undefined;
    this.timeoutMs = options.timeoutMs ?? 30_000;
  }

  /** Scores rows given as objects keyed by feature name or as 6-value arrays in feature order. */
  async predict(rows: ReadonlyArray<FeatureRow | readonly number[]>, options: PredictOptions = {}): Promise<Prediction> {
    const data = rows.map((r, i) => {
      if (Array.isArray(r)) {
        if (r.length !== FEATURES.length) throw new Error(`row ${i} has ${r.length} values; expected ${FEATURES.length} (${FEATURES.join(', ')})`);
        return r as number[];
      }
      return FEATURES.map((f) => (r as FeatureRow)[f]);
    });
    const body: Record<string, unknown> = { dataframe_split: { columns: FEATURES, data } };
    if (options.clientRequestId !== undefined) body.client_request_id = options.clientRequestId;
    const url = options.alias
      ? `${this.baseUrl}/served-models/${encodeURIComponent(options.alias)}/invocations`
      : this.invocationsUrl;
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (options.routingKey) headers['x-routing-key'] = options.routingKey;
    if (options.requestId) headers['x-request-id'] = options.requestId;
    const res = await this.fetch(url, { method: 'POST', headers, body: JSON.stringify(body) });
    const text = await res.text();
    if (!res.ok) throw errorFrom(res.status, text);
    const parsed = JSON.parse(text) as { predictions?: unknown };
    if (!Array.isArray(parsed.predictions)) throw new ScoringClientError(`unexpected response: ${text.slice(0, 200)}`, res.status, null);
    return {
      predictions: parsed.predictions as number[],
      servedModel: res.headers.get('x-served-model'),
      requestId: res.headers.get('x-request-id'),
    };
  }

  /** `GET /health`: ok when every routed model is loaded. */
  async health(): Promise<{ ok: boolean; status: number; body: unknown }> {
    const res = await this.fetch(`${this.baseUrl}/health`, { method: 'GET' });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // plain text
    }
    return { ok: res.status === 200, status: res.status, body };
  }

  private async fetch(url: string, init: { method: string; headers?: Record<string, string>; body?: string }): Promise<Response> {
    const headers = { ...init.headers };
    if (this.apiKey) headers.authorization = `Bearer ${this.apiKey}`;
    return fetch(url, { ...init, headers, signal: AbortSignal.timeout(this.timeoutMs) });
  }
}

function errorFrom(status: number, text: string): ScoringClientError {
  try {
    const body = JSON.parse(text) as { error_code?: string; message?: string };
    if (body && typeof body.message === 'string') return new ScoringClientError(`${status} ${body.error_code ?? ''}: ${body.message}`, status, body.error_code ?? null);
  } catch {
    // plain-text errors (415)
  }
  return new ScoringClientError(`${status}: ${text.slice(0, 300)}`, status, null);
}

/** `invocationsUrl` (or `endpointUrl`) from `pulumi stack output --json`. */
export function urlFromStackOutputs(file: string): string {
  let outputs: Record<string, unknown>;
  try {
    outputs = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`cannot read stack outputs from ${file}: ${(err as Error).message}`);
  }
  const url = outputs.invocationsUrl ?? outputs.endpointUrl;
  if (typeof url !== 'string' || url === '') throw new Error(`${file} has no invocationsUrl or endpointUrl output`);
  return url;
}
