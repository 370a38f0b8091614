/**
 * The scoring server over real HTTP with real ONNX models trained by the real trainer: input formats against
 * direct onnxruntime output, a corpus of malformed requests, canary split, sticky routing, shadow scoring, auth,
 * rate limits, hot reload, the prediction log (local directory, read back with DuckDB) and the client.
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withDuckDB, sqlString } from '../core/duckdb';
import { OnnxModel } from '../core/model/runtime';
import type { ReferenceProfile } from '../core/profile';
import { ModelRegistry } from '../core/registry';
import { FEATURES } from '../core/schema';
import { ScoringClient, ScoringClientError } from '../serving/client';
import { createTestRegistry, type TestRegistry } from './support/models';
import { eventually, pool, readLocalLog, send, startServer, tempDir, type RunningServer } from './support/servingHarness';

let reg: TestRegistry;
let rows: number[][];
let expected: { champion: number[]; challenger: number[] };
const temp = tempDir('mlops-serving-test-');

const JSON_CT = { 'content-type': 'application/json' };

beforeAll(async () => {
  reg = await createTestRegistry();
  const registry = ModelRegistry.open(reg.uri);
  const reference = await registry.getReference<ReferenceProfile>(reg.model, reg.versions.champion);
  // Golden rows plus integer-valued rows (JSON integers must be accepted for float features).
  rows = [...reference.goldenRows.features.slice(0, 12), [2010, 5_000_000, 80_000_000_000, 300, 250, 40], [1995, 120_000, 900_000_000, 12, 11, 1]];
  const score = async (version: number): Promise<number[]> => {
    const model = await OnnxModel.load(await registry.getModelBytes(reg.model, version));
    const out = Array.from(await model.predict(rows));
    await model.release();
    return out;
  };
  expected = { champion: await score(reg.versions.champion), challenger: await score(reg.versions.challenger) };
  expect(expected.champion).not.toEqual(expected.challenger);
});

afterAll(() => {
  reg?.cleanup();
  temp.cleanup();
});

function csvOf(data: number[][]): string {
  return `${FEATURES.join(',')}\n${data.map((r) => r.join(',')).join('\n')}\n`;
}

describe('input formats', () => {
  let s: RunningServer;
  beforeAll(async () => {
    s = await startServer({ registry: reg.uri, routes: 'champion=100' });
  });
  afterAll(() => s.close());

  it('every JSON format and CSV give exactly the onnxruntime predictions', async () => {
    const records = rows.map((r) => Object.fromEntries(FEATURES.map((f, j) => [f, r[j]])));
    const reversed = [...FEATURES].reverse();
    const bodies: [string, string, Record<string, string>][] = [
      ['dataframe_split', JSON.stringify({ dataframe_split: { columns: FEATURES, data: rows } }), JSON_CT],
      [
        'dataframe_split, index, other column order, extra column',
        JSON.stringify({
          dataframe_split: { index: rows.map((_, i) => i + 100), columns: ['country', ...reversed], data: rows.map((r) => ['X', ...[...r].reverse()]) },
        }),
        JSON_CT,
      ],
      ['dataframe_records', JSON.stringify({ dataframe_records: records.map((r) => ({ ...r, iso_code: 'ABC' })) }), JSON_CT],
      ['instances as records', JSON.stringify({ instances: records }), JSON_CT],
      ['instances as lists', JSON.stringify({ instances: rows }), JSON_CT],
      ['inputs as lists with params', JSON.stringify({ inputs: rows, params: { unused: true } }), JSON_CT],
      ['inputs as columns', JSON.stringify({ inputs: Object.fromEntries(FEATURES.map((f, j) => [f, rows.map((r) => r[j])])) }), JSON_CT],
      ['json with charset', JSON.stringify({ inputs: rows }), { 'content-type': 'application/json; charset=utf-8' }],
      ['csv', csvOf(rows), { 'content-type': 'text/csv' }],
      ['csv with charset and CRLF', csvOf(rows).replace(/\n/g, '\r\n'), { 'content-type': 'text/csv; charset=UTF-8' }],
    ];
    for (const [name, body, headers] of bodies) {
      const res = await send(s.url, { body, headers });
      expect(res.status, name).toBe(200);
      expect(res.json, name).toEqual({ predictions: expected.champion });
      expect(res.headers.get('x-served-model')).toBe(`champion/${reg.versions.champion}`);
    }
  });

  it('answers the MLflow probe routes', async () => {
    expect((await send(s.url, { method: 'GET', path: '/ping' })).status).toBe(200);
    const health = await send(s.url, { method: 'GET', path: '/health' });
    expect(health.status).toBe(200);
    expect(health.json).toMatchObject({ status: 'ok', served: { champion: reg.versions.champion } });
    const version = await send(s.url, { method: 'GET', path: '/version' });
    expect(version.status).toBe(200);
    expect(version.text).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('echoes a valid x-request-id and generates one otherwise', async () => {
    const echoed = await send(s.url, { body: JSON.stringify({ inputs: rows.slice(0, 1) }), headers: { ...JSON_CT, 'x-request-id': 'trace-123' } });
    expect(echoed.headers.get('x-request-id')).toBe('trace-123');
    const generated = await send(s.url, { body: JSON.stringify({ inputs: rows.slice(0, 1) }), headers: { ...JSON_CT, 'x-request-id': 'bad id with spaces' } });
    expect(generated.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('malformed requests', () => {
  let s: RunningServer;
  const logs = path.join(temp.dir, 'malformed-logs');
  beforeAll(async () => {
    s = await startServer({ registry: reg.uri, routes: 'champion=100', maxRows: 50, bodyLimitBytes: 64 * 1024, logs, logSpillDir: path.join(temp.dir, 'spill-malformed') });
  });
  afterAll(() => s.close());

  const row = [2015, 47_000_000, 1.6e12, 1500, 1200, 250];
  const rec = Object.fromEntries(FEATURES.map((f, j) => [f, row[j]]));
  const { gdp: _gdp, ...recNoGdp } = rec;
  const withCell = (v: string): string => `{"inputs": [[${row.join(',')}], [2015, 47000000, ${v}, 1500, 1200, 250]]}`;
  const csvHeader = FEATURES.join(',');
  type Case = { name: string; body?: string; headers?: Record<string, string>; method?: string; path?: string; status: number; code?: string; plain?: RegExp; scoring?: boolean };
  const json = (name: string, body: string, status: number, code: string): Case => ({ name, body, headers: JSON_CT, status, code });
  const csv = (name: string, body: string, status: number, code: string): Case => ({ name, body, headers: { 'content-type': 'text/csv' }, status, code });
  const ct = (name: string, contentType: string | null): Case => ({
    name,
    body: JSON.stringify({ inputs: [row] }),
    headers: contentType === null ? {} : { 'content-type': contentType },
    status: 415,
    plain: /only supports|UTF-8|Unrecognized content type parameters/,
  });
  const corpus: Case[] = [
    json('truncated JSON', '{"inputs": [', 400, 'BAD_REQUEST'),
    json('empty JSON body', '', 400, 'BAD_REQUEST'),
    json('not JSON at all', 'year=2015', 400, 'BAD_REQUEST'),
    json('top-level list', JSON.stringify([row]), 400, 'BAD_REQUEST'),
    json('top-level string', '"hello"', 400, 'BAD_REQUEST'),
    json('top-level number', '42', 400, 'BAD_REQUEST'),
    json('top-level null', 'null', 400, 'BAD_REQUEST'),
    json('empty object', '{}', 400, 'BAD_REQUEST'),
    json('unknown format key', JSON.stringify({ data: [row] }), 400, 'BAD_REQUEST'),
    json('two format keys', JSON.stringify({ inputs: [row], instances: [row] }), 400, 'BAD_REQUEST'),
    json('three format keys', JSON.stringify({ dataframe_split: {}, dataframe_records: [], inputs: [] }), 400, 'BAD_REQUEST'),
    json('params not an object', JSON.stringify({ inputs: [row], params: [1] }), 400, 'BAD_REQUEST'),
    json('client_request_id not a string', JSON.stringify({ inputs: [row], client_request_id: 7 }), 400, 'BAD_REQUEST'),
    json('client_request_id too long', JSON.stringify({ inputs: [row], client_request_id: 'x'.repeat(300) }), 400, 'BAD_REQUEST'),
    json('dataframe_split is a list', JSON.stringify({ dataframe_split: [row] }), 400, 'BAD_REQUEST'),
    json('dataframe_split without columns', JSON.stringify({ dataframe_split: { data: [row] } }), 400, 'INVALID_PARAMETER_VALUE'),
    json('dataframe_split data not a list', JSON.stringify({ dataframe_split: { columns: FEATURES, data: 'rows' } }), 400, 'BAD_REQUEST'),
    json('dataframe_split short row', JSON.stringify({ dataframe_split: { columns: FEATURES, data: [row.slice(0, 5)] } }), 400, 'BAD_REQUEST'),
    json('dataframe_split index length', JSON.stringify({ dataframe_split: { index: [0, 1], columns: FEATURES, data: [row] } }), 400, 'BAD_REQUEST'),
    json('dataframe_split missing column', JSON.stringify({ dataframe_split: { columns: FEATURES.filter((f) => f !== 'gdp'), data: [row.slice(0, 5)] } }), 400, 'INVALID_PARAMETER_VALUE'),
    json('dataframe_records not a list', JSON.stringify({ dataframe_records: rec }), 400, 'BAD_REQUEST'),
    json('dataframe_records row is a list', JSON.stringify({ dataframe_records: [row] }), 400, 'BAD_REQUEST'),
    json('dataframe_records missing column', JSON.stringify({ dataframe_records: [rec, recNoGdp] }), 400, 'INVALID_PARAMETER_VALUE'),
    json('instances is a string', JSON.stringify({ instances: 'rows' }), 400, 'BAD_REQUEST'),
    json('instances row too short', JSON.stringify({ instances: [[1, 2, 3]] }), 400, 'BAD_REQUEST'),
    json('inputs rows of mixed shape', JSON.stringify({ inputs: [row, rec] }), 400, 'BAD_REQUEST'),
    json('inputs columns of unequal length', JSON.stringify({ inputs: { ...Object.fromEntries(FEATURES.map((f) => [f, [1, 2]])), gdp: [1] } }), 400, 'BAD_REQUEST'),
    json('inputs column not a list', JSON.stringify({ inputs: { ...Object.fromEntries(FEATURES.map((f) => [f, [1]])), gdp: 1 } }), 400, 'BAD_REQUEST'),
    json('inputs columns missing one', JSON.stringify({ inputs: Object.fromEntries(FEATURES.filter((f) => f !== 'year').map((f) => [f, [1]])) }), 400, 'INVALID_PARAMETER_VALUE'),
    json('string value', withCell('"1.6e12"'), 400, 'INVALID_PARAMETER_VALUE'),
    json('boolean value', withCell('true'), 400, 'INVALID_PARAMETER_VALUE'),
    json('null value', withCell('null'), 400, 'INVALID_PARAMETER_VALUE'),
    json('NaN value', withCell('NaN'), 400, 'INVALID_PARAMETER_VALUE'),
    json('Infinity value', withCell('Infinity'), 400, 'INVALID_PARAMETER_VALUE'),
    json('-Infinity value', withCell('-Infinity'), 400, 'INVALID_PARAMETER_VALUE'),
    json('above float32 range', withCell('1e39'), 400, 'INVALID_PARAMETER_VALUE'),
    json('below float32 range', withCell('-1e39'), 400, 'INVALID_PARAMETER_VALUE'),
    json('overflows float64', withCell('1e400'), 400, 'INVALID_PARAMETER_VALUE'),
    json('nested list value', withCell('[1]'), 400, 'INVALID_PARAMETER_VALUE'),
    json('object value', withCell('{"v": 1}'), 400, 'INVALID_PARAMETER_VALUE'),
    csv('empty CSV', '', 400, 'BAD_REQUEST'),
    csv('CSV missing column', 'year,gdp\n2015,1\n', 400, 'INVALID_PARAMETER_VALUE'),
    csv('CSV non-numeric cell', `${csvHeader}\n2015,47000000,lots,1500,1200,250\n`, 400, 'INVALID_PARAMETER_VALUE'),
    csv('CSV empty cell', `${csvHeader}\n2015,,1.6e12,1500,1200,250\n`, 400, 'INVALID_PARAMETER_VALUE'),
    csv('CSV inf cell', `${csvHeader}\n2015,inf,1.6e12,1500,1200,250\n`, 400, 'INVALID_PARAMETER_VALUE'),
    csv('CSV row too short', `${csvHeader}\n2015,47000000\n`, 400, 'BAD_REQUEST'),
    csv('CSV unterminated quote', `${csvHeader}\n"2015,47000000,1,2,3,4\n`, 400, 'BAD_REQUEST'),
    ct('text/plain', 'text/plain'),
    ct('no content type', null),
    ct('application/xml', 'application/xml'),
    ct('multipart', 'multipart/form-data; boundary=x'),
    ct('latin-1 charset', 'application/json; charset=latin-1'),
    ct('unknown parameter', 'application/json; version=2'),
    json('too many rows', JSON.stringify({ inputs: Array.from({ length: 51 }, () => row) }), 413, 'BAD_REQUEST'),
    json('body over the limit', JSON.stringify({ inputs: Array.from({ length: 3000 }, () => row) }), 413, 'BAD_REQUEST'),
    { name: 'unknown served model', path: '/served-models/nobody/invocations', body: JSON.stringify({ inputs: [row] }), headers: JSON_CT, status: 404, code: 'RESOURCE_DOES_NOT_EXIST' },
    { name: 'GET /invocations', method: 'GET', status: 404, code: 'ENDPOINT_NOT_FOUND', scoring: false },
    { name: 'unknown path', path: '/predict', body: JSON.stringify({ inputs: [row] }), headers: JSON_CT, status: 404, code: 'ENDPOINT_NOT_FOUND', scoring: false },
  ];

  it(`gives each of ${corpus.length} malformed requests the expected status and error shape, and stays healthy`, async () => {
    expect(corpus.length).toBeGreaterThanOrEqual(40);
    for (const c of corpus) {
      const res = await send(s.url, { method: c.method, path: c.path, body: c.body, headers: { ...c.headers, 'x-client-request-id': `bad-${c.name}` } });
      expect(res.status, c.name).toBe(c.status);
      expect(res.headers.get('x-request-id'), c.name).toBeTruthy();
      if (c.plain) {
        expect(res.headers.get('content-type'), c.name).toMatch(/^text\/plain/);
        expect(res.text, c.name).toMatch(c.plain);
      } else {
        expect(res.headers.get('content-type'), c.name).toMatch(/^application\/json/);
        expect(Object.keys(res.json as object).sort(), c.name).toEqual(['error_code', 'message']);
        expect((res.json as { error_code: string }).error_code, c.name).toBe(c.code);
        expect((res.json as { message: string }).message.length, c.name).toBeGreaterThan(10);
      }
      expect((await send(s.url, { method: 'GET', path: '/health' })).status, `healthy after ${c.name}`).toBe(200);
    }
    const ok = await send(s.url, { body: JSON.stringify({ inputs: rows }) });
    expect(ok.json).toEqual({ predictions: expected.champion });

    // One error record per failed scoring request, with its status, code and client id.
    await s.server.log!.flush();
    const errors = readLocalLog(logs).filter((r) => r.record_type === 'error');
    const scoringCases = corpus.filter((c) => c.scoring !== false);
    expect(errors).toHaveLength(scoringCases.length);
    for (const c of scoringCases) {
      const record = errors.find((r) => r.client_request_id === `bad-${c.name}`);
      expect(record, c.name).toBeDefined();
      expect(record!.status_code).toBe(c.status);
      expect(record!.error_code).toBe(c.code ?? 'UNSUPPORTED_MEDIA_TYPE');
      expect(record!.prediction).toBeNull();
      expect(record!.year).toBeNull();
    }
  });
});

describe('canary routing', () => {
  it('splits 5,000 requests within ±3 % of the weights and serves each alias its own version', async () => {
    const s = await startServer({ registry: reg.uri, routes: 'champion=80,challenger=20' });
    try {
      const body = JSON.stringify({ inputs: rows.slice(0, 1) });
      const served = await pool(Array.from({ length: 5000 }), 16, async () => {
        const res = await fetch(`${s.url}/invocations`, { method: 'POST', headers: JSON_CT, body });
        const json = (await res.json()) as { predictions: number[] };
        const label = res.headers.get('x-served-model')!;
        const alias = label.split('/')[0] as 'champion' | 'challenger';
        expect(res.status).toBe(200);
        expect(json.predictions[0]).toBe(expected[alias][0]);
        return label;
      });
      const challenger = served.filter((l) => l === `challenger/${reg.versions.challenger}`).length;
      const champion = served.filter((l) => l === `champion/${reg.versions.champion}`).length;
      expect(champion + challenger).toBe(5000);
      expect(Math.abs(challenger / 5000 - 0.2)).toBeLessThanOrEqual(0.03);
    } finally {
      await s.close();
    }
  });

  it('keeps a routing key on one alias, across restarts', async () => {
    const keys = Array.from({ length: 300 }, (_, i) => `customer-${i}`);
    const assign = async (s: RunningServer): Promise<string[]> =>
      pool(keys, 8, async (key) => {
        const labels = new Set<string>();
        for (let k = 0; k < 3; k++) {
          const res = await send(s.url, { body: JSON.stringify({ inputs: rows.slice(0, 1) }), headers: { ...JSON_CT, 'x-routing-key': key } });
          labels.add(res.headers.get('x-served-model')!);
        }
        expect(labels.size, key).toBe(1);
        return [...labels][0]!;
      });
    const first = await startServer({ registry: reg.uri, routes: 'champion=50,challenger=50' });
    const before = await assign(first).finally(() => first.close());
    const second = await startServer({ registry: reg.uri, routes: 'champion=50,challenger=50' });
    const after = await assign(second).finally(() => second.close());
    expect(after).toEqual(before);
    const share = before.filter((l) => l.startsWith('challenger/')).length / keys.length;
    expect(share).toBeGreaterThan(0.35);
    expect(share).toBeLessThan(0.65);
  });

  it('/served-models/<alias>/invocations bypasses the split', async () => {
    const s = await startServer({ registry: reg.uri, routes: 'champion=100,challenger=0' });
    try {
      const res = await send(s.url, { path: '/served-models/challenger/invocations', body: JSON.stringify({ inputs: rows }) });
      expect(res.status).toBe(200);
      expect(res.json).toEqual({ predictions: expected.challenger });
      expect(res.headers.get('x-served-model')).toBe(`challenger/${reg.versions.challenger}`);
      const routed = await send(s.url, { body: JSON.stringify({ inputs: rows }) });
      expect(routed.headers.get('x-served-model')).toBe(`champion/${reg.versions.champion}`);
    } finally {
      await s.close();
    }
  });

  it('scores every request with the shadow alias, logs it, never returns it', async () => {
    const logs = path.join(temp.dir, 'shadow-logs');
    const s = await startServer({ registry: reg.uri, routes: 'champion=100', shadow: 'challenger', logs, logSpillDir: path.join(temp.dir, 'spill-shadow') });
    try {
      const sizes = [1, 3, rows.length, 2];
      for (const [i, n] of sizes.entries()) {
        const res = await send(s.url, { body: JSON.stringify({ inputs: rows.slice(0, n), client_request_id: `shadow-${i}` }) });
        expect(res.status).toBe(200);
        expect(res.json).toEqual({ predictions: expected.champion.slice(0, n) });
        expect(res.headers.get('x-served-model')).toBe(`champion/${reg.versions.champion}`);
      }
    } finally {
      await s.close();
    }
    const records = readLocalLog(logs);
    const total = [1, 3, rows.length, 2].reduce((a, b) => a + b, 0);
    const shadow = records.filter((r) => r.shadow);
    const primary = records.filter((r) => !r.shadow);
    expect(primary).toHaveLength(total);
    expect(shadow).toHaveLength(total);
    for (const r of shadow) {
      expect(r.alias).toBe('challenger');
      expect(r.model_version).toBe(reg.versions.challenger);
      expect(r.prediction).toBe(expected.challenger[r.row_index!]);
      const twin = primary.find((p) => p.request_id === r.request_id && p.row_index === r.row_index)!;
      expect(twin.client_request_id).toBe(r.client_request_id);
      expect(twin.prediction).toBe(expected.champion[r.row_index!]);
    }
  });
});

describe('auth and rate limits', () => {
  it('requires a bearer key on scoring routes only, from the list or a key file', async () => {
    const keyFile = path.join(temp.dir, 'api-keys');
    writeFileSync(keyFile, 'file-key-abcdef\n');
    const s = await startServer({ registry: reg.uri, routes: 'champion=100', apiKeys: 'list-key-123456', apiKeysFile: keyFile });
    try {
      const body = JSON.stringify({ inputs: rows.slice(0, 2) });
      const none = await send(s.url, { body });
      expect(none.status).toBe(401);
      expect(none.json).toMatchObject({ error_code: 'UNAUTHENTICATED' });
      expect(none.headers.get('www-authenticate')).toBe('Bearer');
      const wrong = await send(s.url, { body, headers: { ...JSON_CT, authorization: 'Bearer list-key-12345X' } });
      expect(wrong.status).toBe(401);
      expect(wrong.text).not.toContain('list-key');
      const prefix = await send(s.url, { body, headers: { ...JSON_CT, authorization: 'Bearer list-key-12345' } });
      expect(prefix.status).toBe(401);
      const served = await send(s.url, { path: '/served-models/champion/invocations', body });
      expect(served.status).toBe(401);
      for (const key of ['list-key-123456', 'file-key-abcdef']) {
        const ok = await send(s.url, { body, headers: { ...JSON_CT, authorization: `Bearer ${key}` } });
        expect(ok.status).toBe(200);
        expect(ok.json).toEqual({ predictions: expected.champion.slice(0, 2) });
      }
      for (const open of ['/ping', '/health']) expect((await send(s.url, { method: 'GET', path: open })).status).toBe(200);
    } finally {
      await s.close();
    }
  });

  it('limits each key with its own token bucket (429 REQUEST_LIMIT_EXCEEDED)', async () => {
    const s = await startServer({ registry: reg.uri, routes: 'champion=100', apiKeys: 'key-one-123456,key-two-123456', rateLimitRps: 0.01, rateLimitBurst: 3 });
    try {
      const body = JSON.stringify({ inputs: rows.slice(0, 1) });
      const call = (key: string): Promise<{ status: number; json: unknown; headers: Headers }> =>
        send(s.url, { body, headers: { ...JSON_CT, authorization: `Bearer ${key}` } });
      const first = [];
      for (let i = 0; i < 4; i++) first.push(await call('key-one-123456'));
      expect(first.map((r) => r.status)).toEqual([200, 200, 200, 429]);
      expect(first[3]!.json).toMatchObject({ error_code: 'REQUEST_LIMIT_EXCEEDED' });
      expect(Number(first[3]!.headers.get('retry-after'))).toBeGreaterThan(0);
      expect((await call('key-two-123456')).status).toBe(200);
      expect((await send(s.url, { method: 'GET', path: '/health' })).status).toBe(200);
    } finally {
      await s.close();
    }
  });
});

describe('HTTP edge cases of the scoring routes', () => {
  let s: RunningServer;
  beforeAll(async () => {
    s = await startServer({ registry: reg.uri, routes: 'champion=100', bodyLimitBytes: 4096, trustProxy: true, rateLimitRps: 0.01, rateLimitBurst: 2 });
  });
  afterAll(() => s.close());

  /** A request written by hand: chunked when `chunks` is given (no Content-Length). */
  const raw = (opts: { path?: string; chunks?: string[]; headers?: Record<string, string> }): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> =>
    new Promise((resolve, reject) => {
      const req = http.request(`${s.url}${opts.path ?? '/invocations'}`, { method: 'POST', agent: false, headers: { 'content-type': 'application/json', ...opts.headers } }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      });
      req.on('error', reject);
      for (const c of opts.chunks ?? []) req.write(c);
      req.end();
    });
  const ip = (n: number): Record<string, string> => ({ 'x-forwarded-for': `203.0.113.${n}, 10.0.0.1` });

  it('scores a chunked body and ignores a query string', async () => {
    const body = JSON.stringify({ inputs: rows.slice(0, 2) });
    const res = await raw({ path: '/invocations?trace=1', chunks: [body.slice(0, 10), body.slice(10)], headers: ip(1) });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ predictions: expected.champion.slice(0, 2) });
    expect(res.headers['x-served-model']).toBe(`champion/${reg.versions.champion}`);
  });

  it('stops reading a chunked body at the limit: 413 and the connection closes', async () => {
    const res = await raw({ chunks: Array.from({ length: 10 }, () => 'x'.repeat(1000)), headers: ip(2) });
    expect(res.status).toBe(413);
    expect(res.headers.connection).toBe('close');
    expect(JSON.parse(res.body)).toMatchObject({ error_code: 'BAD_REQUEST', message: expect.stringMatching(/larger than the limit of 4096 bytes/) });
  });

  it('rejects a served-model name that is not valid percent-encoding', async () => {
    const res = await raw({ path: '/served-models/champ%ZZ/invocations', chunks: [JSON.stringify({ inputs: rows.slice(0, 1) })], headers: ip(3) });
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body)).toMatchObject({ error_code: 'BAD_REQUEST' });
    const encoded = await raw({ path: '/served-models/%63hampion/invocations', chunks: [JSON.stringify({ inputs: rows.slice(0, 1) })], headers: ip(3) });
    expect(encoded.status).toBe(200);
  });

  it('answers HEAD on the read routes, and 404 in MLflow shape for other methods and paths', async () => {
    const head = await fetch(`${s.url}/health`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('x-request-id')).toBeTruthy();
    expect(await head.text()).toBe('');
    const post = await send(s.url, { method: 'POST', path: '/health', body: '{}' });
    expect(post.status).toBe(404);
    expect(post.json).toEqual({ error_code: 'ENDPOINT_NOT_FOUND', message: 'No route for POST /health.' });
    const query = await send(s.url, { method: 'GET', path: '/nope?x=1', headers: { 'x-request-id': 'trace-404' } });
    expect(query.json).toEqual({ error_code: 'ENDPOINT_NOT_FOUND', message: 'No route for GET /nope.' });
    expect(query.headers.get('x-request-id')).toBe('trace-404');
  });

  it('without keys, limits each client address (X-Forwarded-For behind a trusted proxy) separately', async () => {
    const body = JSON.stringify({ inputs: rows.slice(0, 1) });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await raw({ chunks: [body], headers: ip(9) })).status);
    expect(statuses).toEqual([200, 200, 429]);
    expect((await raw({ chunks: [body], headers: ip(10) })).status).toBe(200);
  });
});

describe('hot reload', () => {
  it('picks up a moved alias by polling and swaps it in', async () => {
    const own = await createTestRegistry();
    const s = await startServer({ registry: own.uri, routes: 'champion=100', reloadIntervalSeconds: 1 });
    try {
      const body = JSON.stringify({ inputs: rows });
      expect((await send(s.url, { body })).headers.get('x-served-model')).toBe(`champion/${own.versions.champion}`);
      await ModelRegistry.open(own.uri).setAlias(own.model, 'champion', own.versions.challenger);
      await eventually(async () => (await send(s.url, { body })).headers.get('x-served-model') === `champion/${own.versions.challenger}`, 'the reload');
      const res = await send(s.url, { body });
      expect(res.json).toEqual({ predictions: expected.challenger });
      const metrics = (await send(s.url, { method: 'GET', path: '/metrics' })).text;
      expect(metrics).toMatch(/mlops_model_reload_total\{alias="champion",outcome="loaded"\} 1/);
      expect(metrics).toContain(`mlops_served_model_info{alias="champion",version="${own.versions.challenger}"} 1`);
      expect(metrics).not.toContain(`mlops_served_model_info{alias="champion",version="${own.versions.champion}"}`);
    } finally {
      await s.close();
      own.cleanup();
    }
  });

  it('keeps serving the old version when the new one fails to load or fails the smoke test', async () => {
    const own = await createTestRegistry();
    const registry = ModelRegistry.open(own.uri);
    const versionDir = (v: number): string => path.join(own.uri, own.model, 'versions', String(v));
    // v98: not an ONNX model. v99: a valid model whose reference rows record other predictions.
    for (const [bad, onnxFrom] of [
      [98, null],
      [99, own.versions.challenger],
    ] as const) {
      mkdirSync(versionDir(bad));
      for (const f of ['claim.json', 'reference.json', 'card.md', 'tags.json', 'card.json']) {
        copyFileSync(path.join(versionDir(own.versions.champion), f), path.join(versionDir(bad), f));
      }
      if (onnxFrom === null) writeFileSync(path.join(versionDir(bad), 'model.onnx'), 'not a model');
      else copyFileSync(path.join(versionDir(onnxFrom), 'model.onnx'), path.join(versionDir(bad), 'model.onnx'));
    }
    const s = await startServer({ registry: own.uri, routes: 'champion=100' });
    try {
      const body = JSON.stringify({ inputs: rows });
      for (const bad of [98, 99]) {
        await registry.setAlias(own.model, 'champion', bad);
        const [report] = await s.server.pool.reload();
        expect(report).toMatchObject({ alias: 'champion', outcome: 'failed', from: own.versions.champion, to: bad });
        expect(report!.error).toMatch(bad === 98 ? /cannot load ONNX model/ : /smoke test: reference row 0 scored/);
        const res = await send(s.url, { body });
        expect(res.headers.get('x-served-model')).toBe(`champion/${own.versions.champion}`);
        expect(res.json).toEqual({ predictions: expected.champion });
        expect((await send(s.url, { method: 'GET', path: '/health' })).status).toBe(200);
      }
      const metrics = (await send(s.url, { method: 'GET', path: '/metrics' })).text;
      expect(metrics).toMatch(/mlops_model_reload_total\{alias="champion",outcome="failed"\} 2/);
      // A good version afterwards is swapped in.
      await registry.setAlias(own.model, 'champion', own.versions.challenger);
      expect((await s.server.pool.reload())[0]).toMatchObject({ outcome: 'loaded', to: own.versions.challenger });
      expect((await send(s.url, { body })).json).toEqual({ predictions: expected.challenger });
    } finally {
      await s.close();
      own.cleanup();
    }
  });
});

describe('startup errors name the problem', () => {
  it('unknown alias, missing model, bad routes', async () => {
    await expect(startServer({ registry: reg.uri, routes: 'champion=50,canary=50' })).rejects.toThrow(/no alias 'canary'.*known aliases: challenger → v\d+, champion → v\d+/);
    await expect(startServer({ registry: reg.uri, model: 'other_model' })).rejects.toThrow(/model 'other_model' not found in registry/);
    await expect(startServer({ registry: reg.uri, routes: 'champion=60,challenger=30' })).rejects.toThrow(/sum to 100, got 90/);
    await expect(startServer({ registry: reg.uri, shadow: 'ghost' })).rejects.toThrow(/no alias 'ghost'/);
    await expect(startServer({ registry: path.join(temp.dir, 'absent') })).rejects.toThrow(/absent/);
  });
});

describe('prediction log (local directory)', () => {
  it('writes one record per scored row and per failed request, readable by DuckDB with hive partitioning', async () => {
    const logs = path.join(temp.dir, 'logs');
    const s = await startServer({ registry: reg.uri, routes: 'champion=70,challenger=30', logs, logSpillDir: path.join(temp.dir, 'spill'), logBatchRecords: 50 });
    let scored = 0;
    let failed = 0;
    const ids = new Map<string, { n: number; alias: string }>();
    try {
      await pool(Array.from({ length: 120 }, (_, i) => i), 8, async (i) => {
        if (i % 10 === 9) {
          const res = await send(s.url, { body: '{"inputs": [[1, 2, "x", 4, 5, 6]]}', headers: { ...JSON_CT, 'x-client-request-id': `bad-${i}` } });
          expect(res.status).toBe(400);
          failed++;
          return;
        }
        const n = (i % 4) + 1;
        const headers: Record<string, string> = { ...JSON_CT };
        if (i % 2 === 0) headers['x-client-request-id'] = `hdr-${i}`;
        const body = JSON.stringify({ dataframe_split: { columns: FEATURES, data: rows.slice(0, n) }, ...(i % 2 === 1 ? { client_request_id: `body-${i}` } : {}) });
        const res = await send(s.url, { body, headers });
        expect(res.status).toBe(200);
        scored += n;
        ids.set(res.headers.get('x-request-id')!, { n, alias: res.headers.get('x-served-model')!.split('/')[0]! });
      });
      const metrics = (await send(s.url, { method: 'GET', path: '/metrics' })).text;
      for (const name of ['mlops_requests_total', 'mlops_request_duration_seconds_bucket', 'mlops_rows_scored_total', 'mlops_log_queue_depth', 'mlops_log_records_dropped_total', 'mlops_log_write_retries_total', 'mlops_log_records_written_total', 'mlops_served_model_info']) {
        expect(metrics).toContain(name);
      }
      expect(metrics).toMatch(/mlops_requests_total\{route="\/invocations",alias="",status="400"\} 12/);
    } finally {
      await s.close();
    }
    const records = readLocalLog(logs);
    const predictions = records.filter((r) => r.record_type === 'prediction');
    expect(predictions).toHaveLength(scored);
    expect(records.filter((r) => r.record_type === 'error')).toHaveLength(failed);
    for (const [requestId, { n, alias }] of ids) {
      const mine = predictions.filter((r) => r.request_id === requestId).sort((a, b) => a.row_index! - b.row_index!);
      expect(mine.map((r) => r.row_index)).toEqual(Array.from({ length: n }, (_, i) => i));
      for (const r of mine) {
        expect(r.alias).toBe(alias);
        expect(r.prediction).toBe(expected[alias as 'champion' | 'challenger'][r.row_index!]);
        expect(FEATURES.map((f) => r[f])).toEqual(rows[r.row_index!]);
        expect(r.client_request_id).toMatch(/^(hdr|body)-\d+$/);
        expect(r.latency_ms).toBeGreaterThan(0);
        expect(r.status_code).toBe(200);
      }
    }

    const duck = await withDuckDB(async (conn) => {
      const glob = path.join(logs, 'predictions', '*', '*.jsonl');
      const reader = await conn.runAndReadAll(
        `SELECT count(*) FILTER (WHERE record_type = 'prediction') AS rows, count(*) FILTER (WHERE record_type = 'error') AS errors,
                count(DISTINCT date) AS dates, min(CAST(date AS VARCHAR)) AS date, sum(prediction) AS total, any_value(typeof(timestamp)) AS ts
         FROM read_json_auto(${sqlString(glob)}, hive_partitioning = true)`,
      );
      return reader.getRowObjectsJS()[0]!;
    });
    expect(Number(duck.rows)).toBe(scored);
    expect(Number(duck.errors)).toBe(failed);
    expect(Number(duck.dates)).toBe(1);
    expect(String(duck.date)).toBe(new Date().toISOString().slice(0, 10));
    expect(Number(duck.total)).toBeCloseTo(predictions.reduce((a, r) => a + r.prediction!, 0), 3);
  });
});

describe('client', () => {
  it('predicts with rows or records, picks an alias, checks health, reads stack outputs', async () => {
    const s = await startServer({ registry: reg.uri, routes: 'champion=100,challenger=0', apiKeys: 'client-key-123456' });
    try {
      const client = new ScoringClient({ url: s.url, apiKey: 'client-key-123456' });
      const a = await client.predict(rows, { clientRequestId: 'c-1' });
      expect(a.predictions).toEqual(expected.champion);
      expect(a.servedModel).toBe(`champion/${reg.versions.champion}`);
      const records = rows.map((r) => Object.fromEntries(FEATURES.map((f, j) => [f, r[j]!])) as Record<(typeof FEATURES)[number], number>);
      const b = await client.predict(records, { alias: 'challenger' });
      expect(b.predictions).toEqual(expected.challenger);
      expect(await client.health()).toMatchObject({ ok: true, status: 200 });

      const outputs = path.join(temp.dir, 'stack-outputs.json');
      writeFileSync(outputs, JSON.stringify({ endpointUrl: s.url, invocationsUrl: `${s.url}/invocations`, apiKeySecretName: 'serving-api-keys' }));
      const fromStack = new ScoringClient({ env: { MLOPS_STACK_OUTPUTS: outputs, MLOPS_API_KEY: 'client-key-123456' } });
      expect((await fromStack.predict(rows.slice(0, 1))).predictions).toEqual(expected.champion.slice(0, 1));

      const noKey = new ScoringClient({ url: s.url, env: {} });
      await expect(noKey.predict(rows)).rejects.toMatchObject({ status: 401, errorCode: 'UNAUTHENTICATED' });
      await expect(noKey.predict(rows)).rejects.toBeInstanceOf(ScoringClientError);
      expect(() => new ScoringClient({ env: {} })).toThrow(/no endpoint URL/);
    } finally {
      await s.close();
    }
  });
});
