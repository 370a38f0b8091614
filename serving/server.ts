/**
 * The scoring server: MLflow scoring-server compatible HTTP API in front of the model pool, with the in-image
 * canary (weighted/sticky routing between registry aliases, optional shadow), auth, rate limits, Prometheus metrics
 * and the prediction log. One instance owns all its state (metrics registry, pool, log), so tests can run many.
 *
 * Plain `node:http`, no web framework: the API is six fixed routes without schemas or plugins, and on a single-row
 * prediction any framework's per-request machinery (request/reply objects, route lookup, content-type parsers,
 * hooks, reply serialisation) cost more CPU than the model itself, while loading and constructing fastify took ~190 ms
 * of the 0.5 s cold-start budget. The scoring path does body limits, auth, rate limits, content types, MLflow
 * errors, metrics, request ids and draining in one pass; the malformed-request corpus in the tests pins the behaviour.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import pino, { type Logger } from 'pino';
import http from 'node:http';
import type { ServerResponse } from 'node:http';
import { errorLogRecord } from '../core/logRecord';
import { ModelRegistry } from '../core/registry';
import { AzureBlobStorage, isRemoteUri, openStorage, type Storage } from '../core/storage';
import { ApiKeys, RateLimiter } from './auth';
import { servedAliases, type ServeConfig } from './config';
import { PlainTextError, ScoringError, badRequest, tooLarge } from './errors';
import { contentKind, parseBody } from './input';
import { ServerMetrics } from './metrics';
import { ModelPool, type ServedModel } from './modelPool';
import { PredictionLog, type LogSink } from './predictionLog';
import { Router } from './routes';

export interface ScoringServerOptions {
  /** A pino logger config or `false`; defaults to JSON lines on stdout at `config.logLevel`. */
  logger?: boolean | { level: string };
  /** Override prediction-log writer tuning (tests). */
  logTuning?: { maxTries?: number; retryBaseMs?: number; replayBaseMs?: number; replayMaxMs?: number };
  /** Collect default process metrics (default true). */
  defaultMetrics?: boolean;
}

interface ScoringContext {
  requestId: string;
  /** ISO-8601 UTC time the request was received. */
  receivedAt: string;
  clientRequestId: string | null;
  alias: string | null;
  version: number | null;
}

const REQUEST_ID = /^[\x21-\x7e]{1,200}$/;
const MAX_CLIENT_ID = 256;
const INVOCATIONS = '/invocations';
const SERVED_MODEL = '/served-models/:name/invocations';
const SERVED_MODEL_PATH = /^\/served-models\/([^/]+)\/invocations$/;

const ARRIVED = Symbol('mlops.arrived');
type TimedRequest = http.IncomingMessage & { [ARRIVED]?: number };

/** Milliseconds since the request arrived. */
function elapsedMs(req: TimedRequest): number {
  const t = req[ARRIVED];
  return t === undefined ? 0 : performance.now() - t;
}

/** A scoring request: its route pattern (the metrics label) and, for `/served-models/<alias>/…`, the alias. */
interface ScoringTarget {
  route: string;
  /** The raw (still percent-encoded) alias segment; null for `/invocations`. */
  alias: string | null;
}

const JSON_TYPE = 'application/json; charset=utf-8';
const TEXT_TYPE = 'text/plain; charset=utf-8';

/** The path of a request, without its query string. */
function pathOf(req: http.IncomingMessage): string {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

/** The client's x-request-id when it is usable, else a UUID: the id echoed and logged. */
function requestIdOf(req: http.IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

/** The scoring route of a request, or null for the other routes. */
function scoringTarget(req: http.IncomingMessage): ScoringTarget | null {
  if (req.method !== 'POST') return null;
  const p = pathOf(req);
  if (p === INVOCATIONS) return { route: INVOCATIONS, alias: null };
  const m = SERVED_MODEL_PATH.exec(p);
  return m ? { route: SERVED_MODEL, alias: m[1]! } : null;
}

export class ScoringServer {
  readonly server: http.Server;
  readonly logger: Logger;
  readonly metrics: ServerMetrics;
  readonly pool: ModelPool;
  readonly log: PredictionLog | null;
  readonly router: Router;
  private readonly keys: ApiKeys;
  private readonly limiter: RateLimiter | null;
  private readonly shadowTasks = new Set<Promise<void>>();
  private draining = false;
  /** `JSON.stringify(config.model)`, for the log lines built on the hot path. */
  private readonly modelNameJson: string;
  private closing: Promise<void> | null = null;

  constructor(
    readonly config: ServeConfig,
    options: ScoringServerOptions = {},
  ) {
    this.metrics = new ServerMetrics({ defaultMetrics: options.defaultMetrics });
    this.modelNameJson = JSON.stringify(config.model);
    this.router = new Router(config.routes);
    this.keys = new ApiKeys(config.apiKeys);
    this.limiter = config.rateLimitRps === null ? null : new RateLimiter(config.rateLimitRps, config.rateLimitBurst);
    // No access log: one line per request would cost more than a single-row prediction; metrics and the prediction
    // log record every request.
    this.logger =
      options.logger === false
        ? pino({ enabled: false })
        : pino({ level: config.logLevel, redact: ['req.headers.authorization', 'headers.authorization', 'authorization'], ...(typeof options.logger === 'object' ? options.logger : {}) });
    // Stamps the arrival time on every request (latency, timestamps), then dispatches.
    this.server = http.createServer((req, res) => {
      (req as TimedRequest)[ARRIVED] = performance.now();
      const target = scoringTarget(req);
      if (target === null) this.handleOther(req, res);
      else this.handleScoring(req, res, target);
    });
    // Longer than the idle timeout of the ingress in front (Container Apps / Envoy), so that it closes first.
    this.server.keepAliveTimeout = 72_000;
    const logger: LogSink = this.logger;
    const registry = ModelRegistry.open(config.registry);
    this.pool = new ModelPool(registry, config.model, servedAliases(config), this.metrics, logger);
    this.log = config.logs
      ? new PredictionLog({
          storage: openLogStorage(config.logs),
          metrics: this.metrics,
          logger,
          spillDir: config.logSpillDir,
          flushIntervalMs: config.logFlushSeconds * 1000,
          batchRecords: config.logBatchRecords,
          maxQueueRecords: config.logQueueRecords,
          ...options.logTuning,
        })
      : null;
    this.metrics.logQueueDepth.set(0);
  }

  /** Listens, then loads the models; resolves with the address once /health is 200. */
  async start(): Promise<string> {
    if (this.log) await this.log.start();
    else this.logger.warn('no --logs (MLOPS_LOGS): predictions are not logged');
    const address = await this.listen();
    try {
      await this.pool.load();
    } catch (err) {
      await this.close();
      throw err;
    }
    this.pool.startPolling(this.config.reloadIntervalSeconds * 1000);
    this.logger.info(
      {
        address,
        model: this.config.model,
        served: this.pool.versions(),
        routes: this.config.routes,
        shadow: this.config.shadow,
        auth: this.keys.enabled,
        // Cold start as the process saw it (Container Apps scale-from-zero waits for this).
        startupMs: Math.round(process.uptime() * 1000),
        startupCpuMs: Math.round((process.cpuUsage().user + process.cpuUsage().system) / 1000),
      },
      'serving',
    );
    return address;
  }

  get port(): number {
    const addr = this.server.address();
    return addr && typeof addr === 'object' ? addr.port : this.config.port;
  }

  private listen(): Promise<string> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.config.port, this.config.host, () => {
        this.server.off('error', reject);
        const addr = this.server.address();
        if (!addr || typeof addr !== 'object') return reject(new Error('the server has no address'));
        resolve(`http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`);
      });
    });
  }

  /** Stops accepting, finishes in-flight requests and shadow scoring, flushes the log; within the grace period. */
  close(): Promise<void> {
    if (!this.closing) this.closing = this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    const deadline = Date.now() + this.config.shutdownGraceSeconds * 1000;
    this.draining = true;
    // Stops accepting; idle keep-alive connections close now, busy ones after their response (which says
    // `connection: close` while draining); new requests on them get 503.
    await new Promise<void>((resolve) => {
      if (!this.server.listening) return resolve();
      this.server.close(() => resolve());
      this.server.closeIdleConnections();
    });
    await Promise.all([...this.shadowTasks]);
    await this.pool.close();
    if (this.log) await this.log.close(Math.max(1_000, deadline - Date.now() - 500));
  }

  /** `/ping`, `/health`, `/version`, `/metrics` (GET and HEAD), and MLflow's 404 for everything else. */
  private handleOther(req: TimedRequest, res: ServerResponse): void {
    const requestId = requestIdOf(req);
    const p = pathOf(req);
    const read = req.method === 'GET' || req.method === 'HEAD';
    const reply = (route: string, status: number, contentType: string, body: string): void => {
      this.metrics.forRoute(route, '').observe(status, elapsedMs(req) / 1000);
      this.respond(res, status, contentType, body, requestId);
    };
    if (read && p === '/ping') return reply('/ping', 200, JSON_TYPE, '\n');
    if (read && p === '/health') {
      const ready = this.pool.ready && !this.draining;
      const body = JSON.stringify({ status: ready ? 'ok' : this.draining ? 'draining' : 'loading', model: this.config.model, served: this.pool.versions() });
      return reply('/health', ready ? 200 : 503, JSON_TYPE, body);
    }
    if (read && p === '/version') return reply('/version', 200, TEXT_TYPE, packageVersion());
    if (read && p === '/metrics') {
      this.metrics.registry.metrics().then(
        (text) => reply('/metrics', 200, this.metrics.registry.contentType, text),
        (err: unknown) => {
          this.logger.error({ err, requestId }, 'cannot collect metrics');
          reply('/metrics', 500, JSON_TYPE, new ScoringError('INTERNAL_ERROR', 'Internal server error.').body());
        },
      );
      return;
    }
    reply('unmatched', 404, JSON_TYPE, JSON.stringify({ error_code: 'ENDPOINT_NOT_FOUND', message: `No route for ${req.method} ${p}.` }));
  }

  /**
   * A scoring request, from arrival to response: draining and auth checks before the body is read, the body limit
   * while it is read, then parsing, routing, scoring, logging. Every failure goes through `scoringFailed`.
   */
  private handleScoring(req: TimedRequest, res: ServerResponse, target: ScoringTarget): void {
    const ctx: ScoringContext = {
      requestId: requestIdOf(req),
      receivedAt: isoAt(Date.now() - Math.round(elapsedMs(req))),
      clientRequestId: headerClientId(req.headers['x-client-request-id']),
      alias: null,
      version: null,
    };
    if (this.draining) {
      this.scoringFailed(req, res, ctx, target.route, new ScoringError('TEMPORARILY_UNAVAILABLE', 'The server is shutting down; retry shortly.'), { connection: 'close' });
      return;
    }
    const denied = this.admit(req);
    if (denied) {
      this.scoringFailed(req, res, ctx, target.route, denied.error, denied.headers);
      return;
    }
    const limit = this.config.bodyLimitBytes;
    const declared = Number(req.headers['content-length']); // NaN without the header (chunked)
    // The connection is closed after a body error: the client may still be sending.
    const bodyFailed = (err: ScoringError): void => this.scoringFailed(req, res, ctx, target.route, err, { connection: 'close' });
    const overLimit = (): void => bodyFailed(tooLarge(`The request body is larger than the limit of ${limit} bytes.`));
    if (declared > limit) {
      overLimit();
      return;
    }
    const chunks: Buffer[] = [];
    let received = 0;
    const stop = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    const onData = (chunk: Buffer): void => {
      received += chunk.length;
      if (received > limit) {
        stop();
        overLimit();
        return;
      }
      chunks.push(chunk);
    };
    const onError = (err: Error): void => {
      stop();
      bodyFailed(badRequest(`The request body could not be read: ${err.message}.`));
    };
    const onEnd = (): void => {
      stop();
      if (!Number.isNaN(declared) && received !== declared) {
        bodyFailed(badRequest('The request body size did not match Content-Length.'));
        return;
      }
      const body = chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks, received).toString('utf8');
      this.score(req, res, ctx, target, body).catch((err: unknown) => this.scoringFailed(req, res, ctx, target.route, err));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  }

  /** API key and rate limit checks (when configured); null when the request may go on. */
  private admit(req: http.IncomingMessage): { error: ScoringError; headers: Record<string, string> } | null {
    let caller: string | null = null;
    if (this.keys.enabled) {
      const authorization = req.headers.authorization;
      const index = this.keys.authorize(authorization);
      if (index < 0) {
        const message = authorization ? 'The API key is not valid.' : 'Missing credentials: send "Authorization: Bearer <API key>".';
        return { error: new ScoringError('UNAUTHENTICATED', message), headers: { 'www-authenticate': 'Bearer' } };
      }
      caller = `key:${index}`;
    }
    if (this.limiter) {
      const wait = this.limiter.take(caller ?? `ip:${clientIp(req, this.config.trustProxy)}`);
      if (wait > 0) {
        return {
          error: new ScoringError('REQUEST_LIMIT_EXCEEDED', `Rate limit exceeded: at most ${this.limiter.rate} requests per second (burst ${this.limiter.burst}).`),
          headers: { 'retry-after': String(Math.max(1, Math.ceil(wait))) },
        };
      }
    }
    return null;
  }

  /** Answers a failed scoring request: MLflow's error shape (or its plain-text 415), metrics, an error log record. */
  private scoringFailed(req: TimedRequest, res: ServerResponse, ctx: ScoringContext, route: string, err: unknown, headers: Record<string, string> = {}): void {
    const failure = err instanceof ScoringError || err instanceof PlainTextError ? err : new ScoringError('INTERNAL_ERROR', 'Internal server error.');
    if (failure.status >= 500 && !(err instanceof ScoringError)) this.logger.error({ err, requestId: ctx.requestId }, 'request failed');
    const latencyMs = elapsedMs(req);
    this.metrics.forRoute(route, ctx.alias ?? '').observe(failure.status, latencyMs / 1000);
    this.logError(ctx, failure.status, failure.errorCode, latencyMs);
    if (res.headersSent || res.destroyed) return;
    if (failure instanceof PlainTextError) this.respond(res, failure.status, TEXT_TYPE, failure.message, ctx.requestId, headers);
    else this.respond(res, failure.status, JSON_TYPE, failure.body(), ctx.requestId, headers);
  }

  /** Writes a whole response: type, length, request id, extra headers, and `connection: close` while draining. */
  private respond(res: ServerResponse, status: number, contentType: string, body: string, requestId: string, extra?: http.OutgoingHttpHeaders): void {
    const headers: http.OutgoingHttpHeaders = { 'content-type': contentType, 'content-length': Buffer.byteLength(body), 'x-request-id': requestId };
    // Not `{ ...extra, … }`: spreading an optional object here cost 15–25 µs of CPU per request (measured A/B).
    if (extra !== undefined) Object.assign(headers, extra);
    if (this.draining) headers.connection = 'close';
    res.writeHead(status, headers);
    res.end(body);
  }

  private async score(req: TimedRequest, res: ServerResponse, ctx: ScoringContext, target: ScoringTarget, body: string): Promise<void> {
    const input = parseBody(contentKind(req.headers['content-type']), body, this.config.maxRows);
    if (input.clientRequestId !== null) {
      if (input.clientRequestId.length > MAX_CLIENT_ID) throw badRequest(`'client_request_id' must be at most ${MAX_CLIENT_ID} characters.`);
      ctx.clientRequestId = input.clientRequestId;
    }
    let model: ServedModel | undefined;
    if (target.alias !== null) {
      let alias: string;
      try {
        alias = decodeURIComponent(target.alias);
      } catch {
        throw badRequest(`The served model name '${target.alias}' is not valid percent-encoding.`);
      }
      model = this.pool.get(alias);
      if (!model) {
        if (this.pool.aliases.includes(alias)) throw new ScoringError('TEMPORARILY_UNAVAILABLE', `Served model '${alias}' is not loaded yet.`);
        throw new ScoringError('RESOURCE_DOES_NOT_EXIST', `Served model '${alias}' does not exist; served models: ${this.pool.aliases.join(', ')}.`);
      }
    } else {
      const key = req.headers['x-routing-key'];
      const alias = this.router.pick(typeof key === 'string' && key !== '' ? key : undefined);
      model = this.pool.get(alias);
      if (!model) throw new ScoringError('TEMPORARILY_UNAVAILABLE', 'The models are still loading; retry shortly.');
    }
    ctx.alias = model.alias;
    ctx.version = model.version;
    const features = new Float32Array(input.values);
    const predictions = await model.predict(features);
    const out = serializePredictions(predictions);
    this.metrics.scored(model.alias, model.version, false, input.rows);
    const latencyMs = elapsedMs(req);
    if (this.log) this.logRows(ctx, model, input.values, predictions, false, latencyMs);
    this.metrics.forRoute(target.route, model.alias).observe(200, latencyMs / 1000);
    this.respond(res, 200, JSON_TYPE, out, ctx.requestId, { 'x-served-model': model.label });

    const shadowAlias = this.config.shadow;
    if (shadowAlias !== null && input.rows > 0) {
      const shadow = this.pool.get(shadowAlias);
      if (shadow) {
        const task = new Promise<void>((resolve) => setImmediate(resolve))
          .then(() => this.shadowScore(ctx, shadow, features, input.values))
          .finally(() => this.shadowTasks.delete(task));
        this.shadowTasks.add(task);
      }
    }
  }

  private async shadowScore(ctx: ScoringContext, shadow: ServedModel, features: Float32Array, values: Float64Array): Promise<void> {
    const t0 = performance.now();
    try {
      const predictions = await shadow.predict(features);
      this.metrics.scored(shadow.alias, shadow.version, true, predictions.length);
      if (this.log) this.logRows(ctx, shadow, values, predictions, true, performance.now() - t0);
    } catch (err) {
      this.logger.warn({ err: (err as Error).message, alias: shadow.alias, requestId: ctx.requestId }, 'shadow scoring failed');
    }
  }

  /**
   * One prediction record per row, serialized here as the JSON line `JSON.stringify(record)` gives for a
   * `PredictionLogRecord` (same keys in the same order, same number formatting): the parts shared by the rows of a
   * request are built once. Feature values are finite by validation; non-finite predictions are written as null.
   */
  private logRows(ctx: ScoringContext, model: ServedModel, v: Float64Array, predictions: Float32Array, shadow: boolean, latencyMs: number): void {
    const log = this.log!;
    const date = ctx.receivedAt.slice(0, 10);
    const head =
      `{"record_type":"prediction","timestamp":${JSON.stringify(ctx.receivedAt)},"request_id":${JSON.stringify(ctx.requestId)},` +
      `"client_request_id":${ctx.clientRequestId === null ? 'null' : JSON.stringify(ctx.clientRequestId)},"row_index":`;
    const mid = `,"model_name":${this.modelNameJson},"alias":${JSON.stringify(model.alias)},"model_version":${JSON.stringify(model.version)},"shadow":${shadow},"year":`;
    const tail = `,"latency_ms":${round3(latencyMs)},"status_code":200,"error_code":null}`;
    for (let i = 0, o = 0; i < predictions.length; i++, o += 6) {
      const p = predictions[i]!;
      log.addLine(
        `${head}${i}${mid}${v[o]!},"population":${v[o + 1]!},"gdp":${v[o + 2]!},"primary_energy_consumption":${v[o + 3]!},` +
          `"fossil_fuel_consumption":${v[o + 4]!},"renewables_consumption":${v[o + 5]!},"prediction":${Number.isFinite(p) ? p : 'null'}${tail}`,
        date,
      );
    }
  }

  private logError(ctx: ScoringContext, status: number, errorCode: string, latencyMs: number): void {
    if (!this.log) return;
    this.log.add(
      errorLogRecord({
        timestamp: ctx.receivedAt,
        request_id: ctx.requestId,
        client_request_id: ctx.clientRequestId,
        model_name: this.config.model,
        alias: ctx.alias,
        model_version: ctx.version,
        latency_ms: round3(latencyMs),
        status_code: status,
        error_code: errorCode,
      }),
    );
  }
}

/** The `x-client-request-id` header, when usable (truncated to the maximum length). */
function headerClientId(header: string | string[] | undefined): string | null {
  return typeof header === 'string' && header !== '' ? header.slice(0, MAX_CLIENT_ID) : null;
}

/**
 * The caller's address for per-IP rate limits: the socket's peer, or with `trustProxy` the client address the
 * proxy in front put first in `X-Forwarded-For` (Container Apps' ingress sets it).
 */
function clientIp(req: http.IncomingMessage, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = req.headers['x-forwarded-for'];
    const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim();
    if (first) return first;
  }
  return req.socket.remoteAddress ?? 'unknown';
}

/** `{"predictions":[…]}` from float32 outputs; non-finite values become null (JSON has no NaN). */
export function serializePredictions(predictions: Float32Array): string {
  let out = '{"predictions":[';
  for (let i = 0; i < predictions.length; i++) {
    const p = predictions[i]!;
    if (i > 0) out += ',';
    out += Number.isFinite(p) ? String(p) : 'null';
  }
  return out + ']}';
}

let lastMs = 0;
let lastIso = '';

/** `new Date(ms).toISOString()`, formatted once per distinct millisecond. */
function isoAt(ms: number): string {
  if (ms !== lastMs) {
    lastMs = ms;
    lastIso = new Date(ms).toISOString();
  }
  return lastIso;
}

function round3(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/** Log storage with fewer SDK-level retries than the default: the prediction log retries and spills itself. */
export function openLogStorage(uri: string): Storage {
  if (isRemoteUri(uri)) return new AzureBlobStorage(uri, { maxTries: 1, tryTimeoutMs: 10_000, operationTimeoutMs: 15_000, checkTimeoutMs: 5_000 });
  return openStorage(uri);
}

let cachedVersion: string | null = null;

/** The project version from the nearest package.json (the image ships it next to dist/). */
export function packageVersion(): string {
  if (cachedVersion !== null) return cachedVersion;
  let dir = __dirname;
  for (let i = 0; i < 5; i++) {
    const file = path.join(dir, 'package.json');
    if (existsSync(file)) {
      try {
        const pkg = JSON.parse(readFileSync(file, 'utf8')) as { version?: string };
        if (pkg.version) return (cachedVersion = pkg.version);
      } catch {
        // keep looking upwards
      }
    }
    dir = path.dirname(dir);
  }
  return (cachedVersion = 'unknown');
}
