import { promises as fs } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAudit } from '../core/audit';
import { ModelRegistry } from '../core/registry';
import { MODEL_NAME } from '../core/schema';
import { syntheticCsv } from '../core/synthetic';
import { createTestContainer, type TestContainer } from '../test/support/blob';
import { PolicyFailure } from './cliSupport';
import { runPromote, type PromoteResult } from './promote';
import { runTrain } from './train';

const WEAK = { nEstimators: 2, maxDepth: 2 };
const STRONG = { nEstimators: 60 };

let dir: string;
let data: string;
let holdout: string;
let registry: string;
let reg: ModelRegistry;
let webhook: { url: string; bodies: string[]; server: http.Server };

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mlops-promote-test-'));
  data = path.join(dir, 'train.csv');
  holdout = path.join(dir, 'holdout.csv');
  await fs.writeFile(data, syntheticCsv({ seed: 5, countries: 30 }));
  await fs.writeFile(holdout, syntheticCsv({ seed: 99, countries: 20 }));
  registry = path.join(dir, 'registry');
  await fs.mkdir(registry);
  reg = ModelRegistry.open(registry);
  await runTrain({ data, registry, alias: 'champion', params: WEAK }); // v1
  await runTrain({ data, registry, params: STRONG }); // v2: clearly better
  await runTrain({ data, registry, params: STRONG }); // v3: identical to v2

  const bodies: string[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      bodies.push(body);
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  webhook = { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook/secret`, bodies, server };
});

afterAll(async () => {
  await new Promise<void>((resolve) => webhook?.server.close(() => resolve()));
  await fs.rm(dir, { recursive: true, force: true });
});

const alert = () => ({ url: webhook.url, retries: 0 });

describe('mlops promote', () => {
  it('requires a holdout table when a champion exists', async () => {
    await expect(runPromote({ registry, candidate: 2 })).rejects.toThrow(/needs --data <holdout table>.*same rows/);
  });

  it('promotes a better candidate to champion, keeps the old one as previous, tags, audits and notifies', async () => {
    const result = await runPromote({ registry, candidate: 2, data: holdout, alert: alert() });
    expect(result).toMatchObject({ promoted: true, decision: 'promoted', stage: 'champion', champion_version: 1 });
    expect(result.smoke_tests.every((t) => t.passed)).toBe(true);
    expect(result.smoke_tests.map((t) => t.name)).toEqual(['loads', 'input_schema', 'finite_outputs', 'golden_rows']);
    const c = result.comparison!;
    expect(c.holdout.rows).toBeGreaterThan(100);
    expect(c.candidate.n).toBe(c.champion!.n);
    expect(c.r2_improvement).toBeGreaterThanOrEqual(0.01);
    expect(result.aliases_after).toEqual({ champion: 2, previous: 1 });
    expect(await reg.getAliases(MODEL_NAME)).toEqual({ champion: 2, previous: 1 });

    const tags = await reg.getTags(MODEL_NAME, 2);
    expect(tags).toMatchObject({ promotion_decision: 'promoted', promotion_stage: 'champion', promotion_vs_champion: '1' });
    expect(Number(tags.holdout_r2)).toBeCloseTo(c.candidate.r2, 12);
    expect(Number(tags.champion_holdout_r2)).toBeCloseTo(c.champion!.r2, 12);

    const audit = await readAudit(`${registry}/${MODEL_NAME}`, { kind: 'promotion' });
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ candidate_version: 2, decision: 'promoted', aliases_after: { champion: 2, previous: 1 } });
    expect(result.audit_uri).toContain(`${MODEL_NAME}/audit/date=`);

    expect(result.alert).toMatchObject({ delivered: true, attempts: 1 });
    expect(JSON.parse(webhook.bodies.at(-1)!).text).toContain('candidate 2 promoted to champion');
    expect(JSON.stringify(result)).not.toContain('/hook/secret');
  });

  it('rejects a candidate that is not better on the same holdout rows (exit 0, promoted false), and records it', async () => {
    const result = await runPromote({ registry, candidate: 3, data: holdout, alert: alert() });
    expect(result).toMatchObject({ promoted: false, decision: 'rejected', champion_version: 2 });
    expect(result.comparison!.r2_improvement).toBeCloseTo(0, 6);
    expect(result.reasons[0]).toMatch(/not better than champion 2/);
    expect(await reg.getAliases(MODEL_NAME)).toEqual({ champion: 2, previous: 1 });
    expect((await reg.getTags(MODEL_NAME, 3)).promotion_decision).toBe('rejected');
    expect((await readAudit(`${registry}/${MODEL_NAME}`, { kind: 'promotion' })).map((r) => r.decision)).toEqual(['promoted', 'rejected']);
    expect(JSON.parse(webhook.bodies.at(-1)!).text).toContain('not promoted');
  });

  it('puts a candidate in the canary with --stage challenger (thresholds configurable)', async () => {
    const result = await runPromote({ registry, candidate: 3, data: holdout, stage: 'challenger', minRmseDrop: -1 });
    expect(result).toMatchObject({ promoted: true, stage: 'challenger' });
    expect(await reg.getAliases(MODEL_NAME)).toEqual({ champion: 2, previous: 1, challenger: 3 });
    expect(result.alert.skipped).toBe(true);
  });

  it('fails by policy when smoke tests fail: golden rows not reproduced, latency over budget', async () => {
    // A damaged version: the ONNX of v1 with the reference profile (golden rows) of v2.
    const card = await reg.getCard(MODEL_NAME, 1);
    const { version: broken } = await reg.register(MODEL_NAME, {
      onnx: await reg.getModelBytes(MODEL_NAME, 1),
      card: { ...card, tags: {} },
      reference: await reg.getReference(MODEL_NAME, 2),
      cardMarkdown: () => '# damaged\n',
    });
    const err = await runPromote({ registry, candidate: broken, data: holdout }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PolicyFailure);
    const result = (err as PolicyFailure).result as PromoteResult;
    expect(result.decision).toBe('smoke_failed');
    expect(result.smoke_tests.find((t) => t.name === 'golden_rows')?.passed).toBe(false);
    expect(result.comparison).toBeNull();
    expect((await reg.getTags(MODEL_NAME, broken)).promotion_decision).toBe('smoke_failed');
    expect(await reg.getAliases(MODEL_NAME)).toEqual({ champion: 2, previous: 1, challenger: 3 });

    const slow = await runPromote({ registry, candidate: 3, data: holdout, latencyBudgetMs: 0 }).catch((e: unknown) => e);
    expect(slow).toBeInstanceOf(PolicyFailure);
    const latency = ((slow as PolicyFailure).result as PromoteResult).smoke_tests.find((t) => t.name === 'latency');
    expect(latency?.passed).toBe(false);
    expect(latency?.detail).toMatch(/budget 0 ms/);
  });

  it('rolls back to the previous champion and refuses a second rollback', async () => {
    const result = await runPromote({ registry, rollback: true, alert: alert() });
    expect(result).toMatchObject({ action: 'rollback', decision: 'rolled_back', champion_version: 1, candidate_version: 2 });
    expect(await reg.getAliases(MODEL_NAME)).toEqual({ champion: 1, rolled_back: 2, challenger: 3 });
    expect((await reg.getTags(MODEL_NAME, 2)).rolled_back_to).toBe('1');
    const audit = await readAudit(`${registry}/${MODEL_NAME}`, { kind: 'rollback' });
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ demoted_version: 2, restored_version: 1 });
    expect(JSON.parse(webhook.bodies.at(-1)!).text).toContain('rolled back to version 1');
    await expect(runPromote({ registry, rollback: true })).rejects.toThrow(/no 'previous' alias/);
  });

  it('makes a passing first candidate champion when there is none (no holdout needed)', async () => {
    const fresh = path.join(dir, 'fresh');
    await fs.mkdir(fresh);
    await runTrain({ data, registry: fresh, params: WEAK });
    const result = await runPromote({ registry: fresh, candidate: 1, stage: 'challenger' });
    expect(result).toMatchObject({ promoted: true, stage: 'champion', champion_version: null, comparison: null });
    expect(result.reasons[0]).toMatch(/no champion yet/);
    expect(await ModelRegistry.open(fresh).getAliases(MODEL_NAME)).toEqual({ champion: 1 });
  });
});

describe('mlops promote (Azurite)', () => {
  let container: TestContainer;
  beforeAll(async () => {
    container = await createTestContainer();
  });
  afterAll(async () => {
    await container?.dispose();
  });

  it('promotes in a blob registry and writes the audit record beside the model', async () => {
    const blobRegistry = `${container.uri}/models`;
    await runTrain({ data, registry: blobRegistry, alias: 'champion', params: WEAK });
    await runTrain({ data, registry: blobRegistry, params: STRONG });
    const result = await runPromote({ registry: blobRegistry, candidate: 2, data: holdout });
    expect(result).toMatchObject({ promoted: true, aliases_after: { champion: 2, previous: 1 } });
    expect(result.audit_uri.startsWith(`${blobRegistry}/${MODEL_NAME}/audit/date=`)).toBe(true);
    const audit = await readAudit(`${blobRegistry}/${MODEL_NAME}`);
    expect(audit.map((r) => r.kind)).toEqual(['promotion']);
  });
});
