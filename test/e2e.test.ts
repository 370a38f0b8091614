import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAudit } from '../core/audit';
import { ModelRegistry } from '../core/registry';
import { FEATURES, MODEL_NAME } from '../core/schema';
import { runMlops, spawnMlops } from './support/cli';
import { HAS_OWID, OWID_CSV } from './support/paths';

/** The data the loop trains on: the real OWID table when present (offline, via --data), else the synthetic one. */
const DATA = HAS_OWID ? OWID_CSV : 'synthetic';
const OFFLINE = { MLOPS_DATA_URL: 'http://127.0.0.1:9/unreachable.csv' };
const start = (args: string[]) => spawnMlops(['start', ...args], OFFLINE);
const runToEnd = (args: string[]) => runMlops(['start', ...args], OFFLINE);

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await fs.readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(path.join(entry.parentPath, entry.name));
  }
  return out;
}

let root: string;
beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'mlops-e2e-'));
});
afterAll(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

describe('npm start -- --once (end-to-end loop)', () => {
  it('with injected drift: detects it, retrains, promotes, and the endpoint serves the new version', { timeout: 240_000 }, async () => {
    const home = path.join(root, 'drift');
    const run = await runToEnd(['--home', home, '--data', DATA, '--once', '--inject-drift', 'all=1', '--port', '0', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const summary = JSON.parse(run.stdout.trim());
    // The canary split is visible: both routes served traffic.
    expect(Object.keys(summary.traffic.served).sort()).toEqual(['challenger/2', 'champion/1']);
    expect(summary.score.scored).toBe(summary.traffic.rows);
    expect(summary.monitor).toMatchObject({ status: 'drift', should_retrain: true });
    expect(summary.monitor.drift_features.length).toBeGreaterThanOrEqual(2);
    expect(summary.retrain).toMatchObject({ retrained: true, candidate_version: 3 });
    expect(summary.promote).toMatchObject({ promoted: true, decision: 'promoted' });
    expect(summary.served_before).toBe('champion/1');
    expect(summary.served_after).toBe('champion/3');

    const registry = ModelRegistry.open(path.join(home, 'registry'));
    expect(await registry.getAliases(MODEL_NAME)).toMatchObject({ champion: 3, previous: 1, challenger: 2 });
    const reports = await listFiles(path.join(home, 'reports'));
    expect(reports.some((f) => f.endsWith('report.html'))).toBe(true);
    expect(reports.some((f) => f.endsWith('latest-decision.json'))).toBe(true);
    const html = await fs.readFile(summary.monitor.report, 'utf8');
    expect(html).toContain('<svg');
    const decisions = await readAudit(path.join(home, 'reports'));
    expect(decisions.length).toBeGreaterThanOrEqual(1);
    const promotions = await readAudit(path.join(home, 'registry', MODEL_NAME));
    expect(promotions.some((r) => JSON.stringify(r).includes('"promoted"'))).toBe(true);
    // Every scored row was logged (champion + challenger routes; the shadow is off in dev).
    const logs = (await listFiles(path.join(home, 'logs'))).filter((f) => f.endsWith('.jsonl'));
    let records = 0;
    for (const f of logs) records += (await fs.readFile(f, 'utf8')).trim().split('\n').length;
    expect(records).toBeGreaterThanOrEqual(summary.traffic.rows);
  });

  it('without drift: nothing is retrained and the champion stays', { timeout: 240_000 }, async () => {
    const home = path.join(root, 'steady');
    const run = await runToEnd(['--home', home, '--data', DATA, '--once', '--port', '0', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const summary = JSON.parse(run.stdout.trim());
    expect(summary.monitor).toMatchObject({ status: 'ok', should_retrain: false, drift_features: [] });
    expect(summary.retrain.retrained).toBe(false);
    expect(summary.promote).toBeNull();
    expect(summary.served_after).toBe('champion/1');
    expect(await ModelRegistry.open(path.join(home, 'registry')).listVersions(MODEL_NAME)).toEqual([1, 2]);
  });

  it('rejects a bad --inject-drift with one readable line', async () => {
    const run = await runToEnd(['--home', path.join(root, 'bad'), '--data', DATA, '--once', '--inject-drift', 'wind=2']);
    expect(run.code).toBe(2);
    expect(run.stderr.trim()).toMatch(/--inject-drift: unknown feature 'wind'; features: year, population/);
  });
});

describe('npm start (long-running)', () => {
  it('offline without --data falls back to the labelled synthetic table, serves, and Ctrl-C flushes the log', { timeout: 180_000 }, async () => {
    const home = path.join(root, 'daemon');
    const child = start(['--home', home, '--port', '0']);
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const endpoint = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (d) => {
        stdout += d;
        const m = /endpoint\s+(http:\/\/[^\s]+)\/invocations/.exec(stdout);
        if (m && stdout.includes('Ctrl-C stops')) resolve(m[1]!);
      });
      child.on('close', (code) => reject(new Error(`exited early with ${code}: ${stderr}`)));
    });
    expect(stderr).toMatch(/SYNTHETIC table/);
    expect(stdout).toMatch(/\[SYNTHETIC DATA\]/);
    expect(stdout).toMatch(/monitor\s+0 30 4 \* \* \? \(Europe\/Berlin\); next \d{4}-/);
    const res = await fetch(`${endpoint}/invocations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ dataframe_split: { columns: FEATURES, data: [[2015, 8.3e7, 3.9e12, 3300, 2600, 480]] } }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-served-model')).toMatch(/^(champion\/1|challenger\/2)$/);
    const code = await new Promise<number | null>((resolve) => {
      child.on('close', resolve);
      child.kill('SIGINT');
    });
    expect(code).toBe(0);
    const logs = (await listFiles(path.join(home, 'logs'))).filter((f) => f.endsWith('.jsonl'));
    const lines = (await Promise.all(logs.map((f) => fs.readFile(f, 'utf8')))).join('').trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ record_type: 'prediction', year: 2015 });
  });
});
