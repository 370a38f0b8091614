import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelRegistry } from '../core/registry';
import { readOnnxMetadata } from '../core/model/onnx';
import { DEFAULT_GBDT_PARAMS } from '../core/model/gbdt';
import { FEATURES, MODEL_NAME } from '../core/schema';
import { azuriteEnv, createTestContainer, type TestContainer } from './support/blob';
import { runMlops } from './support/cli';
import { HAS_OWID, OWID_CSV } from './support/paths';



let dir: string;
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mlops-train-cli-'));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('mlops train (CLI)', () => {
  it('trains on the synthetic table, prints one JSON object, registers a complete version and moves the alias', async () => {
    const registry = path.join(dir, 'registry-synthetic');
    const run = await runMlops(['train', '--data', 'synthetic', '--registry', registry, '--alias', 'champion', '--n-estimators', '40', '--tag', 'owner=tests', '--json']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const result = JSON.parse(lines[0]!);
    expect(result).toMatchObject({ model: MODEL_NAME, version: 1, alias: 'champion', synthetic: true, nTrees: 40 });
    expect(result.metrics.random_holdout.r2).toBeGreaterThan(0.9);
    expect(Object.keys(result.metrics).some((k: string) => k.startsWith('temporal_holdout_from_'))).toBe(true);

    const reg = ModelRegistry.open(registry);
    expect(await reg.getAliases(MODEL_NAME)).toEqual({ champion: 1 });
    const card = await reg.getCard(MODEL_NAME, 1);
    expect(card.data.synthetic).toBe(true);
    expect(card.tags).toMatchObject({ owner: 'tests', synthetic: 'true' });
    expect(card.data.sha256).toMatch(/^[0-9a-f]{64}$/);
    const md = await reg.getCardMarkdown(MODEL_NAME, 1);
    expect(md).toContain('SYNTHETIC');
    expect(md).toContain('## Metrics');
    const meta = readOnnxMetadata(await reg.getModelBytes(MODEL_NAME, 1));
    expect(meta.feature_names).toBe(FEATURES.join(','));
    const reference = await reg.getReference<{ goldenRows: { features: number[][] } }>(MODEL_NAME, 1);
    expect(reference.goldenRows.features.length).toBeGreaterThan(0);
  });

  it('prints human output without --json', async () => {
    const run = await runMlops(['train', '--data', 'synthetic', '--registry', path.join(dir, 'registry-human'), '--n-estimators', '10']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/registered renewable_energy_predictor version 1 .*\[SYNTHETIC DATA\]/);
    expect(run.stdout).toMatch(/random_holdout\s+R² 0\.\d{4}/);
  });

  it.each([
    ['a missing file', ['--data', 'no/such/file.csv'], /data file not found: no\/such\/file\.csv/],
    ['an unknown format', ['--data', 'table.xlsx'], /expected a \.csv or \.parquet file/],
    ['a bad flag value', ['--data', 'synthetic', '--max-depth', 'deep'], /--max-depth must be an integer between 1 and 16, got 'deep'/],
    ['a bad registry URI', ['--data', 'synthetic', '--registry', 's3://bucket/models'], /s3:\/\/bucket\/models/],
  ])('fails with one readable line and exit 2 on %s, leaving the registry empty', async (_name, args, pattern) => {
    const registry = path.join(dir, `registry-bad-${Math.random().toString(36).slice(2)}`);
    const withRegistry = args.includes('--registry') ? args : [...args, '--registry', registry];
    const run = await runMlops(['train', ...withRegistry]);
    expect(run.code).toBe(2);
    const errLines = run.stderr.trim().split('\n');
    expect(errLines).toHaveLength(1);
    expect(errLines[0]).toMatch(pattern);
    const versions = await ModelRegistry.open(registry).listVersions(MODEL_NAME).catch(() => []);
    expect(versions).toEqual([]);
  });

  it('fails clearly on an unreachable Azure registry', async () => {
    const run = await runMlops(['train', '--data', 'synthetic', '--registry', 'http://127.0.0.1:9/devstoreaccount1/models', '--json'], azuriteEnv());
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/127\.0\.0\.1:9/);
    expect(JSON.parse(run.stdout)).toMatchObject({ ok: false, command: 'train' });
  });
});

describe('mlops train against Azure Blob (Azurite)', () => {
  let container: TestContainer;
  beforeAll(async () => {
    container = await createTestContainer({ prefix: 'registry' });
  });
  afterAll(async () => {
    await container.dispose();
  });

  it('registers into a blob container', async () => {
    const run = await runMlops(['train', '--data', 'synthetic', '--registry', container.uri, '--alias', 'champion', '--n-estimators', '20', '--json'], azuriteEnv());
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ version: 1, alias: 'champion' });
    const reg = ModelRegistry.open(container.uri);
    expect(await reg.resolve(MODEL_NAME, 'champion')).toBe(1);
    expect((await reg.getModelBytes(MODEL_NAME, 1)).length).toBeGreaterThan(1000);
  });
});

describe.skipIf(!HAS_OWID)('mlops train on the real OWID table', () => {
  it('reaches R² ≥ 0.96 on the seeded 80/20 split and counts the excluded rows', async () => {
    const run = await runMlops(['train', '--data', OWID_CSV, '--registry', path.join(dir, 'registry-owid'), '--json']);
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout);
    expect(result.data).toMatchObject({ rows: 13255, usedRows: 4287, trainRows: 3430, testRows: 857 });
    expect(result.data.excluded.missingFeature + result.data.excluded.missingTarget).toBe(13255 - 4287);
    expect(result.metrics.random_holdout.r2).toBeGreaterThanOrEqual(0.96);
    expect(result.nTrees).toBe(DEFAULT_GBDT_PARAMS.nEstimators);
  });
});
