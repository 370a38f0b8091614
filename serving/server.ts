/**
 * The scoring server: MLflow scoring-server compatible HTTP API in front of the model pool, with the in-image
 * canary (weighted/sticky routing between registry aliases, optional shadow), auth, rate limits, Prometheus metrics
 * and the prediction log. One instance owns all its state (metrics registry, pool, log), so tests can run many.
 *
 * The two scoring routes (`POST /invocations`, `POST /served-models/<alias>/invocations`) are handled directly on
 * `node:http`, everything else by fastify. A single-row prediction is so cheap that fastify's per-request machinery
 * (request/reply objects, route lookup, content-type parser, hooks, reply serialisation) cost more CPU than the
 * model; this handler does the same work — body limit, auth, rate limit, content types, MLflow errors, metrics,
 * request ids, draining — in one pass. The malformed-request corpus in the tests pins the behaviour.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import pino, { type Logger } from 'pino';
import http from 'node:http';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
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

/** The scoring route of a request, or null when fastify should handle it. */
function scoringTarget(req: http.IncomingMessage): ScoringTarget | null {
  if (req.method !== 'POST') return null;
  const url = req.url ?? '';
  const q = url.indexOf('?');
  const p = q < 0 ? url : url.slice(0, q);
  if (p === INVOCATIONS) return { route: INVOCATIONS, alias: null };
  const m = SERVED_MODEL_PATH.exec(p);
  return m ? { route: SERVED_MODEL, alias: m[1]! } : null;
}

export class ScoringServer {
  readonly app: FastifyInstance;
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
    // The server's own pino logger rather than fastify's: fastify with a logger builds a child logger and response
    // listeners per request, which costs more than the rest of a single-row prediction; there is no access log anyway.
    this.logger =
      options.logger === false
        ? pino({ enabled: false })
        : pino({ level: config.logLevel, redact: ['req.headers.authorization', 'headers.authorization', 'authorization'], ...(typeof options.logger === 'object' ? options.logger : {}) });
    this.app = Fastify({
      logger: false,
      // Stamps the arrival time on every request; scoring requests are handled here, the rest by fastify.
      serverFactory: (handler) =>
        http.createServer((req, res) => {
          (req as TimedRequest)[ARRIVED] = performance.now();
          const target = scoringTarget(req);
          if (target === null) handler(req, res);
          else this.handleScoring(req, res, target);
        }),
      bodyLimit: config.bodyLimitBytes,
      trustProxy: config.trustProxy,
      return503OnClosing: true,
      forceCloseConnections: 'idle',
      // The client's x-request-id when it is usable, else a UUID: this is the id echoed and logged.
      genReqId: (req) => {
        const given = req.headers['x-request-id'];
        return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
      },
    });
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
    this.routes();
  }

  /** Listens, then loads the models; resolves with the address once /health is 200. */
  async start(): Promise<string> {
    if (this.log) await this.log.start();
    else this.logger.warn('no --logs (MLOPS_LOGS): predictions are not logged');
    const address = await this.app.listen({ host: this.config.host, port: this.config.port });
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
    const addr = this.app.server.address();
    return addr && typeof addr === 'object' ? addr.port : this.config.port;
  }

  /** Stops accepting, finishes in-flight requests and shadow scoring, flushes the log; within the grace period. */
  close(): Promise<void> {
    if (!this.closing) this.closing = this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    const deadline = Date.now() + this.config.shutdownGraceSeconds * 1000;
    this.draining = true;
    await this.app.close();
    await Promise.all([...this.shadowTasks]);
    await this.pool.close();
    if (this.log) await this.log.close(Math.max(1_000, deadline - Date.now() - 500));
  }

  private routes(): void {
    const app = this.app;
    // Only the non-scoring routes reach fastify. A body sent to one of them (say a POST to an unknown path) is read
    // as-is so that the answer is the 404, whatever its content type.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'string' }, (_req: FastifyRequest, body: string | Buffer, done: (err: Error | null, body?: unknown) => void): void => done(null, body));

    // No global hooks: every way out (handlers, not-found, error handler) calls `finish`, which sets x-request-id
    // and counts the request. Fastify runs hook-free routes measurably faster.
    app.get('/ping', (request, reply) => {
      this.finish(request, reply, 200, '/ping');
      reply.type('application/json').send('\n');
    });
    app.get('/health', (request, reply) => {
      const ready = this.pool.ready && !this.draining;
      this.finish(request, reply, ready ? 200 : 503, '/health');
      reply
        .code(ready ? 200 : 503)
        .type('application/json')
        .send(JSON.stringify({ status: ready ? 'ok' : this.draining ? 'draining' : 'loading', model: this.config.model, served: this.pool.versions() }));
    });
    app.get('/version', (request, reply) => {
      this.finish(request, reply, 200, '/version');
      reply.type('text/plain; charset=utf-8').send(packageVersion());
    });
    app.get('/metrics', async (request, reply) => {
      this.finish(request, reply, 200, '/metrics');
      reply.type(this.metrics.registry.contentType).send(await this.metrics.registry.metrics());
    });

    app.setNotFoundHandler((request, reply) => {
      this.finish(request, reply, 404, 'unmatched');
      reply
        .code(404)
        .type('application/json')
        .send(JSON.stringify({ error_code: 'ENDPOINT_NOT_FOUND', message: `No route for ${request.method} ${request.url.split('?')[0]}.` }));
    });

    app.setErrorHandler((err: FastifyError | Error, request, reply) => {
      const failure = toClientError(err);
      if (failure instanceof ScoringError && failure.status >= 500 && !(err instanceof ScoringError)) {
        this.logger.error({ err, requestId: request.id }, 'request failed');
      }
      this.finish(request, reply, failure.status, request.routeOptions.url ?? 'unmatched');
      if (failure instanceof PlainTextError) {
        reply.code(failure.status).type('text/plain; charset=utf-8').send(failure.message);
      } else {
        reply.code(failure.status).type('application/json').send(failure.body());
      }
    });
  }

  /** Response bookkeeping of the fastify routes: the x-request-id header and the request metrics. */
  private finish(request: FastifyRequest, reply: FastifyReply, status: number, route: string): void {
    reply.header('x-request-id', request.id);
    this.metrics.forRoute(route, '').observe(status, elapsedMs(request.raw) / 1000);
  }

  /**
   * A scoring request, from arrival to response: draining and auth checks before the body is read, the body limit
   * while it is read, then parsing, routing, scoring, logging. Every failure goes through `scoringFailed`.
   */
  private handleScoring(req: TimedRequest, res: ServerResponse, target: ScoringTarget): void {
    const given = req.headers['x-request-id'];
    const ctx: ScoringContext = {
      requestId: typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID(),
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
    if (declared > limit) {
      bodyFailed(tooLarge(`The request body is larger than the limit of ${limit} bytes.`));
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
        bodyFailed(tooLarge(`The request body is larger than the limit of ${limit} bytes.`));
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
    const failure = err instanceof Error ? toClientError(err) : new ScoringError('INTERNAL_ERROR', 'Internal server error.');
    if (failure.status >= 500 && !(err instanceof ScoringError)) this.logger.error({ err, requestId: ctx.requestId }, 'request failed');
    const latencyMs = elapsedMs(req);
    this.metrics.forRoute(route, ctx.alias ?? '').observe(failure.status, latencyMs / 1000);
    this.logError(ctx, failure.status, failure.errorCode, latencyMs);
    if (res.headersSent || res.destroyed) return;
    const plain = failure instanceof PlainTextError;
    const body = plain ? failure.message : failure.body();
    res.writeHead(failure.status, {
      ...headers,
      'content-type': plain ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      'x-request-id': ctx.requestId,
      ...(this.draining ? { connection: 'close' } : {}),
    });
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
    const headers: http.OutgoingHttpHeaders = {
      'content-type': 'application/json; charset=utf-8',
      'content-length': out.length, // ASCII only
      'x-request-id': ctx.requestId,
      'x-served-model': model.label,
    };
    if (this.draining) headers.connection = 'close';
    res.writeHead(200, headers);
    res.end(out);

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

/** Maps any error to what the client sees: MLflow's JSON error shape, or its plain-text 415. */
function toClientError(err: FastifyError | Error): ScoringError | PlainTextError {
  if (err instanceof ScoringError || err instanceof PlainTextError) return err;
  const code = (err as FastifyError).code;
  const status = (err as FastifyError).statusCode;
  switch (code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ScoringError('BAD_REQUEST', `The request body is larger than the limit of ${(err as FastifyError).message.match(/\d+/)?.[0] ?? 'the server'} bytes.`, 413);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return (() => {
        try {
          contentKind(undefined);
        } catch (e) {
          return e as PlainTextError;
        }
        return new PlainTextError(415, 'Unsupported content type.');
      })();
    default:
      if (status !== undefined && status >= 400 && status < 500) return new ScoringError('BAD_REQUEST', err.message, status);
      return new ScoringError('INTERNAL_ERROR', 'Internal server error.');
  }
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
