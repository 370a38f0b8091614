/**
 * The scoring server: MLflow scoring-server compatible HTTP API in front of the model pool, with the in-image
 * canary (weighted/sticky routing between registry aliases, optional shadow), auth, rate limits, Prometheus metrics
 * and the prediction log. One instance owns all its state (metrics registry, pool, log), so tests can run many.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import pino, { type Logger } from 'pino';
import http from 'node:http';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { errorLogRecord } from '../core/logRecord';
import { ModelRegistry } from '../core/registry';
import { AzureBlobStorage, isRemoteUri, openStorage, type Storage } from '../core/storage';
import { ApiKeys, RateLimiter } from './auth';
import { servedAliases, type ServeConfig } from './config';
import { PlainTextError, ScoringError, badRequest } from './errors';
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

declare module 'fastify' {
  interface FastifyRequest {
    ctx: ScoringContext;
  }
}

const REQUEST_ID = /^[\x21-\x7e]{1,200}$/;
const MAX_CLIENT_ID = 256;
const INVOCATIONS = '/invocations';
const SERVED_MODEL = '/served-models/:name/invocations';

const ARRIVED = Symbol('mlops.arrived');
type TimedRequest = http.IncomingMessage & { [ARRIVED]?: number };

/** Milliseconds since the request arrived. */
function elapsedMs(request: FastifyRequest): number {
  const t = (request.raw as TimedRequest)[ARRIVED];
  return t === undefined ? 0 : performance.now() - t;
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
      // Stamps the arrival time on the raw request: latency and timestamps without a per-request hook.
      serverFactory: (handler) =>
        http.createServer((req, res) => {
          (req as TimedRequest)[ARRIVED] = performance.now();
          handler(req, res);
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
    app.decorateRequest('ctx', null as unknown as ScoringContext);
    app.removeAllContentTypeParsers();
    const asString = (_req: FastifyRequest, body: string | Buffer, done: (err: Error | null, body?: unknown) => void): void => done(null, body);
    app.addContentTypeParser('*', { parseAs: 'string' }, asString);
    // The same parser under the two supported types: fastify caches the lookup of a registered type, whereas the
    // catch-all is re-resolved (a content-type parse) on every request. Every other type still reaches the catch-all.
    app.addContentTypeParser(['application/json', 'text/csv'], { parseAs: 'string' }, asString);

    // No global hooks: every way out (handlers, not-found, error handler) calls `finish`, which sets x-request-id
    // and counts the request. Fastify runs hook-free routes measurably faster.
    app.get('/ping', (request, reply) => {
      this.finish(request, reply, 200, '', '/ping');
      reply.type('application/json').send('\n');
    });
    app.get('/health', (request, reply) => {
      const ready = this.pool.ready && !this.draining;
      this.finish(request, reply, ready ? 200 : 503, '', '/health');
      reply
        .code(ready ? 200 : 503)
        .type('application/json')
        .send(JSON.stringify({ status: ready ? 'ok' : this.draining ? 'draining' : 'loading', model: this.config.model, served: this.pool.versions() }));
    });
    app.get('/version', (request, reply) => {
      this.finish(request, reply, 200, '', '/version');
      reply.type('text/plain; charset=utf-8').send(packageVersion());
    });
    app.get('/metrics', async (request, reply) => {
      this.finish(request, reply, 200, '', '/metrics');
      reply.type(this.metrics.registry.contentType).send(await this.metrics.registry.metrics());
    });

    // Auth and rate limits run before the body is read; without either, scoring routes have no extra hook.
    const guard = (request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void): void => {
      let caller: string | null = null;
      if (this.keys.enabled) {
        const index = this.keys.authorize(request.headers.authorization);
        if (index < 0) {
          reply.header('www-authenticate', 'Bearer');
          done(
            new ScoringError(
              'UNAUTHENTICATED',
              request.headers.authorization ? 'The API key is not valid.' : 'Missing credentials: send "Authorization: Bearer <API key>".',
            ),
          );
          return;
        }
        caller = `key:${index}`;
      }
      if (this.limiter) {
        const wait = this.limiter.take(caller ?? `ip:${request.ip}`);
        if (wait > 0) {
          reply.header('retry-after', String(Math.max(1, Math.ceil(wait))));
          done(new ScoringError('REQUEST_LIMIT_EXCEEDED', `Rate limit exceeded: at most ${this.limiter.rate} requests per second (burst ${this.limiter.burst}).`));
          return;
        }
      }
      done();
    };

    const routeOptions = this.keys.enabled || this.limiter ? { onRequest: guard } : {};
    app.post(INVOCATIONS, routeOptions, (request, reply) => this.score(request, reply, null, INVOCATIONS));
    app.post<{ Params: { name: string } }>(SERVED_MODEL, routeOptions, (request, reply) => this.score(request, reply, request.params.name, SERVED_MODEL));

    app.setNotFoundHandler((request, reply) => {
      this.finish(request, reply, 404, '', routeOf(request));
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
      const ctx = contextOf(request, reply);
      this.finish(request, reply, failure.status, ctx.alias ?? '', routeOf(request));
      if (isScoringRoute(request)) this.logError(request, failure.status, failure.errorCode, elapsedMs(request));
      if (failure instanceof PlainTextError) {
        reply.code(failure.status).type('text/plain; charset=utf-8').send(failure.message);
      } else {
        reply.code(failure.status).type('application/json').send(failure.body());
      }
    });
  }

  /** Response bookkeeping shared by every route: the x-request-id header and the request metrics. */
  private finish(request: FastifyRequest, reply: FastifyReply, status: number, alias: string, route: string): void {
    reply.header('x-request-id', request.id);
    this.metrics.forRoute(route, alias).observe(status, elapsedMs(request) / 1000);
  }

  private async score(request: FastifyRequest, reply: FastifyReply, fixedAlias: string | null, route: string): Promise<void> {
    const ctx = contextOf(request, reply);
    ctx.clientRequestId = headerClientId(request);
    const kind = contentKind(request.headers['content-type']);
    const input = parseBody(kind, typeof request.body === 'string' ? request.body : '', this.config.maxRows);
    if (input.clientRequestId !== null) {
      if (input.clientRequestId.length > MAX_CLIENT_ID) throw badRequest(`'client_request_id' must be at most ${MAX_CLIENT_ID} characters.`);
      ctx.clientRequestId = input.clientRequestId;
    }
    let model: ServedModel | undefined;
    if (fixedAlias !== null) {
      model = this.pool.get(fixedAlias);
      if (!model) {
        if (this.pool.aliases.includes(fixedAlias)) throw new ScoringError('TEMPORARILY_UNAVAILABLE', `Served model '${fixedAlias}' is not loaded yet.`);
        throw new ScoringError(
          'RESOURCE_DOES_NOT_EXIST',
          `Served model '${fixedAlias}' does not exist; served models: ${this.pool.aliases.join(', ')}.`,
        );
      }
    } else {
      const key = request.headers['x-routing-key'];
      const alias = this.router.pick(typeof key === 'string' && key !== '' ? key : undefined);
      model = this.pool.get(alias);
      if (!model) throw new ScoringError('TEMPORARILY_UNAVAILABLE', 'The models are still loading; retry shortly.');
    }
    ctx.alias = model.alias;
    ctx.version = model.version;
    const features = new Float32Array(input.values);
    const predictions = await model.predict(features);
    reply.header('x-served-model', model.label);
    const body = serializePredictions(predictions);
    this.metrics.scored(model.alias, model.version, false, input.rows);
    const latencyMs = elapsedMs(request);
    if (this.log) this.logRows(ctx, model, input.values, predictions, false, latencyMs);
    this.finish(request, reply, 200, model.alias, route);
    // The header fastify would produce from 'application/json' (it appends the charset), without its per-reply rewrite.
    reply.type('application/json; charset=utf-8').send(body);

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

  private logError(request: FastifyRequest, status: number, errorCode: string, latencyMs: number): void {
    if (!this.log) return;
    const ctx = request.ctx;
    ctx.clientRequestId ??= headerClientId(request);
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

/** The per-request scoring context, created on first use. */
function contextOf(request: FastifyRequest, reply: FastifyReply): ScoringContext {
  if (!request.ctx) {
    request.ctx = {
      requestId: request.id,
      receivedAt: isoAt(Date.now() - Math.round(elapsedMs(request))),
      clientRequestId: null,
      alias: null,
      version: null,
    };
  }
  return request.ctx;
}

/** The route pattern of a request for metrics (error paths; handlers name their route directly). */
function routeOf(request: FastifyRequest): string {
  return request.routeOptions.url ?? 'unmatched';
}

function isScoringRoute(request: FastifyRequest): boolean {
  const url = request.routeOptions.url;
  return url === INVOCATIONS || url === SERVED_MODEL;
}

function headerClientId(request: FastifyRequest): string | null {
  const header = request.headers['x-client-request-id'];
  return typeof header === 'string' && header !== '' ? header.slice(0, MAX_CLIENT_ID) : null;
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
