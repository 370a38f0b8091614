import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { alertPayload, maskWebhookUrl, notify, type AlertEvent } from './alerts';

interface Receiver {
  url: string;
  requests: { headers: http.IncomingHttpHeaders; body: string }[];
  close(): Promise<void>;
}

/** A local webhook receiver answering with the statuses given, in order (the last one repeats). */
async function receiver(statuses: number[], headers: Record<string, string> = {}): Promise<Receiver> {
  const requests: Receiver['requests'] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      requests.push({ headers: req.headers, body });
      const status = statuses[Math.min(requests.length - 1, statuses.length - 1)]!;
      res.writeHead(status, { 'content-type': 'text/plain', ...headers });
      res.end(status < 300 ? 'ok' : 'nope');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/services/T000/B000/secret-token-xyz`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const event: AlertEvent = {
  title: 'Drift detected on renewable_energy_predictor',
  severity: 'warning',
  text: '3 of 6 features drifted',
  fields: { drift_share: 0.5, alias: 'champion' },
};

const fast = { baseDelayMs: 5, maxDelayMs: 50, timeoutMs: 5_000 };

let open: Receiver[] = [];
afterEach(async () => {
  await Promise.all(open.map((r) => r.close()));
  open = [];
});

async function start(statuses: number[], headers?: Record<string, string>): Promise<Receiver> {
  const r = await receiver(statuses, headers);
  open.push(r);
  return r;
}

describe('notify', () => {
  it('posts one JSON payload that Slack and Teams both render (text) and reports delivery', async () => {
    const r = await start([200]);
    const result = await notify(event, { url: r.url, ...fast });
    expect(result).toMatchObject({ delivered: true, attempts: 1, status: 200 });
    expect(r.requests).toHaveLength(1);
    expect(r.requests[0]!.headers['content-type']).toMatch(/^application\/json/);
    const body = JSON.parse(r.requests[0]!.body);
    expect(body.text).toContain('Drift detected on renewable_energy_predictor');
    expect(body.text).toContain('WARNING');
    expect(body.text).toContain('drift_share: 0.5');
    expect(Array.isArray(body.blocks)).toBe(true);
    expect(body['@type']).toBe('MessageCard');
    expect(body.sections[0].facts).toContainEqual({ name: 'alias', value: 'champion' });
  });

  it('retries 5xx with backoff: fails twice, then succeeds', async () => {
    const r = await start([503, 502, 200]);
    const result = await notify(event, { url: r.url, retries: 3, ...fast });
    expect(result).toMatchObject({ delivered: true, attempts: 3, status: 200 });
    expect(r.requests).toHaveLength(3);
  });

  it('gives up after the retries when the webhook always fails, without throwing', async () => {
    const r = await start([500]);
    const result = await notify(event, { url: r.url, retries: 2, ...fast });
    expect(result.delivered).toBe(false);
    expect(result.attempts).toBe(3);
    expect(result.status).toBe(500);
    expect(result.error).toContain('500');
    expect(r.requests).toHaveLength(3);
  });

  it('honours 429 and does not retry other 4xx', async () => {
    const limited = await start([429, 200], { 'retry-after': '0' });
    expect(await notify(event, { url: limited.url, ...fast })).toMatchObject({ delivered: true, attempts: 2 });
    const bad = await start([400]);
    const result = await notify(event, { url: bad.url, ...fast });
    expect(result).toMatchObject({ delivered: false, attempts: 1, status: 400 });
  });

  it('reports an unreachable webhook and never exposes the URL path or token', async () => {
    const r = await start([200]);
    const url = r.url;
    await r.close();
    open = [];
    const result = await notify(event, { url, retries: 1, ...fast });
    expect(result.delivered).toBe(false);
    expect(result.attempts).toBe(2);
    const serialized = JSON.stringify(result);
    expect(serialized).not.toContain('secret-token-xyz');
    expect(serialized).not.toContain('/services/');
    expect(result.target).toBe(maskWebhookUrl(url));
  });

  it('skips when no webhook is configured and reads MLOPS_ALERT_WEBHOOK_URL by default', async () => {
    const saved = process.env.MLOPS_ALERT_WEBHOOK_URL;
    try {
      delete process.env.MLOPS_ALERT_WEBHOOK_URL;
      expect(await notify(event)).toMatchObject({ delivered: false, attempts: 0, skipped: true });
      const r = await start([200]);
      process.env.MLOPS_ALERT_WEBHOOK_URL = r.url;
      expect(await notify(event, fast)).toMatchObject({ delivered: true, attempts: 1 });
    } finally {
      if (saved === undefined) delete process.env.MLOPS_ALERT_WEBHOOK_URL;
      else process.env.MLOPS_ALERT_WEBHOOK_URL = saved;
    }
  });

  it('rejects a malformed URL without throwing', async () => {
    expect(await notify(event, { url: 'not a url' })).toMatchObject({ delivered: false, attempts: 0 });
  });
});

describe('alertPayload', () => {
  it('masks nothing but keeps the text short enough for Slack blocks', () => {
    const payload = alertPayload({ title: 't'.repeat(400), severity: 'critical', text: 'x' });
    const blocks = payload.blocks as { text?: { text: string } }[];
    expect(blocks[0]!.text!.text.length).toBeLessThanOrEqual(150);
    expect(payload.themeColor).toBe('E01E5A');
  });
});
