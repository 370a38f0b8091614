/**
 * A real model registry for serving tests: two versions trained by the real trainer (`runTrain`) on the synthetic
 * table with different seeds and parameters, so champion and challenger predict differently.
 *
 * Training takes a few seconds, so the registry is built once per test process and copied for each caller
 * (`createTestRegistry()` returns a fresh directory the test may change, e.g. move aliases).
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runTrain } from '../../jobs/train';

export interface TestRegistry {
  /** Registry URI (a local directory). */
  uri: string;
  model: string;
  /** Version numbers: `champion` → versions.champion, `challenger` → versions.challenger. */
  versions: { champion: number; challenger: number };
  cleanup(): void;
}

export const TEST_MODEL = 'renewable_energy_predictor';

let template: Promise<{ dir: string; versions: { champion: number; challenger: number } }> | null = null;

async function buildTemplate(): Promise<{ dir: string; versions: { champion: number; challenger: number } }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mlops-test-registry-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  const small = { nEstimators: 30, maxDepth: 5 };
  const champion = await runTrain({ data: 'synthetic', registry: dir, model: TEST_MODEL, alias: 'champion', seed: 1, params: small });
  const challenger = await runTrain({
    data: 'synthetic',
    registry: dir,
    model: TEST_MODEL,
    alias: 'challenger',
    seed: 2,
    params: { nEstimators: 20, maxDepth: 4, learningRate: 0.2 },
  });
  return { dir, versions: { champion: champion.version, challenger: challenger.version } };
}

export async function createTestRegistry(): Promise<TestRegistry> {
  template ??= buildTemplate();
  const { dir, versions } = await template;
  const copy = mkdtempSync(path.join(os.tmpdir(), 'mlops-test-registry-'));
  cpSync(dir, copy, { recursive: true });
  return {
    uri: copy,
    model: TEST_MODEL,
    versions: { ...versions },
    cleanup: () => rmSync(copy, { recursive: true, force: true }),
  };
}
