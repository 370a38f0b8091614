import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeLatestDecision, type MonitorDecision } from '../core/decision';
import { ModelRegistry } from '../core/registry';
import { MODEL_NAME } from '../core/schema';
import { syntheticCsv } from '../core/synthetic';
import { createTestContainer, type TestContainer } from '../test/support/blob';
import { sampleDecision } from '../test/support/decisions';
import { runRetrain } from './retrain';
import { runTrain } from './train';

const params = { nEstimators: 15 };

const decision = (overrides: Partial<MonitorDecision> = {}): MonitorDecision => sampleDecision({ model: MODEL_NAME, model_version: 1, ...overrides });

let dir: string;
let data: string;
let registry: string;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mlops-retrain-test-'));
  data = path.join(dir, 'owid.csv');
  await fs.writeFile(data, syntheticCsv({ seed: 5, countries: 30 }));
  registry = path.join(dir, 'registry');
  await fs.mkdir(registry);
  await runTrain({ data, registry, alias: 'champion', params });
});

afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('mlops retrain', () => {
  it('does nothing when the decision does not ask for it (exit 0, retrained false)', async () => {
    const reports = path.join(dir, 'reports-ok');
    await fs.mkdir(reports);
    await writeLatestDecision(reports, decision({ status: 'ok', should_retrain: false, drift_count: 0, drift_features: [], drift_share: 0, reasons: [] }));
    const result = await runRetrain({ data, registry, decision: reports, params });
    expect(result.retrained).toBe(false);
    expect(result.reason).toMatch(/does not ask for retraining/);
    expect(result.candidate_version).toBeUndefined();
    expect(await ModelRegistry.open(registry).listVersions(MODEL_NAME)).toEqual([1]);
  });

  it('registers a tagged candidate on drift and never touches aliases', async () => {
    const reports = path.join(dir, 'reports-drift');
    await fs.mkdir(reports);
    await writeLatestDecision(reports, decision());
    const reg = ModelRegistry.open(registry);
    const aliasesBefore = await reg.getAliases(MODEL_NAME);
    const result = await runRetrain({ data, registry, decision: reports, windowYears: 20, params });
    expect(result.retrained).toBe(true);
    expect(result.trigger).toBe('drift');
    const v = result.candidate_version!;
    expect(v).toBeGreaterThan(1);
    expect(await reg.getAliases(MODEL_NAME)).toEqual(aliasesBefore);
    const tags = await reg.getTags(MODEL_NAME, v);
    expect(tags).toMatchObject({
      trigger: 'drift',
      drifted_features: 'gdp,population',
      decision_created_at: '2025-03-01T06:00:00.000Z',
      decision_status: 'drift',
      monitored_version: '1',
      window_from_year: '2003',
    });
    expect(tags.data_sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(Number(tags.metric_random_holdout_r2)).toBeCloseTo(result.metrics!.random_holdout!.r2, 12);
    const card = await reg.getCard(MODEL_NAME, v);
    expect(card.params.fromYear).toBe(2003);
    expect(result.window).toMatchObject({ from_year: 2003 });
  });

  it('retrains on --force without a decision, and maps a degraded decision to trigger=performance', async () => {
    const forced = await runRetrain({ data, registry, force: true, fromYear: 2010, params });
    expect(forced).toMatchObject({ retrained: true, trigger: 'forced', decision: null });
    expect((await ModelRegistry.open(registry).getTags(MODEL_NAME, forced.candidate_version!)).trigger).toBe('forced');

    const file = path.join(dir, 'degraded.json');
    await fs.writeFile(file, JSON.stringify(decision({ status: 'degraded', drift_count: 0, drift_features: [] })));
    const perf = await runRetrain({ data, registry, decision: file, params });
    expect(perf.trigger).toBe('performance');
  });

  it('refuses to run without --decision or --force, and on a decision about another model', async () => {
    await expect(runRetrain({ data, registry })).rejects.toThrow(/--decision <uri>.*or --force/);
    const file = path.join(dir, 'other.json');
    await fs.writeFile(file, JSON.stringify(decision({ model: 'other_model' })));
    await expect(runRetrain({ data, registry, decision: file })).rejects.toThrow(/about model 'other_model'/);
    await expect(runRetrain({ data, registry, decision: path.join(dir, 'missing.json') })).rejects.toThrow(/decision file not found/);
    await expect(runRetrain({ data, registry, force: true, fromYear: 2000, windowYears: 3 })).rejects.toThrow(/either --from-year or --window-years/);
  });
});

describe('mlops retrain (Azurite)', () => {
  let container: TestContainer;
  beforeAll(async () => {
    container = await createTestContainer();
  });
  afterAll(async () => {
    await container?.dispose();
  });

  it('reads the decision from a blob reports root and registers into a blob registry', async () => {
    const reports = `${container.uri}/reports`;
    const blobRegistry = `${container.uri}/models`;
    await writeLatestDecision(reports, decision({ model_version: null }));
    const result = await runRetrain({ data, registry: blobRegistry, decision: reports, params });
    expect(result).toMatchObject({ retrained: true, trigger: 'drift', candidate_version: 1 });
    const reg = ModelRegistry.open(blobRegistry);
    expect(await reg.getAliases(MODEL_NAME)).toEqual({});
    expect((await reg.getTags(MODEL_NAME, 1)).decision_uri).toBe(`${reports}/latest-decision.json`);
  });
});
