/**
 * Starts real scoring servers (real HTTP on an ephemeral 127.0.0.1 port, real ONNX models from
 * `createTestRegistry`) for the serving tests, and reads back what they logged.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { PredictionLogRecord } from '../../core/logRecord';
import { resolveServeConfig, type RawServeOptions } from '../../serving/config';
import { ScoringServer, type ScoringServerOptions } from '../../serving/server';

export interface RunningServer {
  server: ScoringServer;
  url: string;
  close(): Promise<void>;
}

export async function startServer(raw: RawServeOptions, options: ScoringServerOptions = {}): Promise<RunningServer> {
  const config = resolveServeConfig({ host: '127.0.0.1', port: 0, reloadIntervalSeconds: 0, logFlushSeconds: 0.2, ...raw });
  const server = new ScoringServer(config, { logger: false, defaultMetrics: false, ...options });
  const url = await server.start();
  return { server, url, close: () => server.close() };
}

export function tempDir(prefix: string): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Every record under `<dir>/predictions/date=*\/*.jsonl`. */
export function readLocalLog(dir: string): PredictionLogRecord[] {
  const root = path.join(dir, 'predictions');
  const out: PredictionLogRecord[] = [];
  let partitions: string[];
  try {
    partitions = readdirSync(root);
  } catch {
    return out;
  }
  for (const p of partitions) {
    for (const f of readdirSync(path.join(root, p))) {
      if (!f.endsWith('.jsonl')) continue;
      for (const line of readFileSync(path.join(root, p, f), 'utf8').split('\n')) if (line) out.push(JSON.parse(line) as PredictionLogRecord);
    }
  }
  return out;
}

export interface Sent {
  status: number;
  headers: Headers;
  text: string;
  json: unknown;
}

export async function send(url: string, init: { method?: string; path?: string; body?: string; headers?: Record<string, string> } = {}): Promise<Sent> {
  const res = await fetch(url + (init.path ?? '/invocations'), {
    method: init.method ?? 'POST',
    headers: init.headers ?? (init.body !== undefined ? { 'content-type': 'application/json' } : {}),
    body: init.body,
  });
  const text = await res.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    // plain text
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** Runs `fn` over `items` with at most `concurrency` in flight. */
export async function pool<T, R>(items: T[], concurrency: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await fn(items[i]!, i);
      }
    }),
  );
  return results;
}

/** Polls `check` until it returns true (no time assertion: gives up after `limitMs` with a message). */
export async function eventually(check: () => boolean | Promise<boolean>, what: string, limitMs = 60_000): Promise<void> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > limitMs) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
