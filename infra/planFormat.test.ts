import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from './images';
import { markSecret, type RecordedResource } from './mockEngine';
import { buildPlan, diffPlans, flatten, formatDiff, formatPlan, naturalCompare, parsePlan, SECRET_MASK } from './planFormat';

const resources: RecordedResource[] = [
  { type: 'b:index/job:Job', name: 'nightly', inputs: { name: 'nightly', timeoutSeconds: 60, tasks: [{ taskKey: 'a' }], tags: { 'managed-by': 'pulumi' } } },
  { type: 'a:index/secret:Secret', name: 'key', inputs: { value: markSecret('s3cr3t'), image: 'reg/app:src-0123456789ab', md5: 'd41d8cd98f00b204e9800998ecf8427e' } },
];

describe('plan formatting', () => {
  it('flattens inputs with natural key order and masks secrets', () => {
    expect(flatten({ env: Array.from({ length: 11 }, (_, i) => i), s: markSecret({ nested: 'x' }), empty: {}, list: [] })).toEqual({
      ...Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`env[${i}]`, String(i)])),
      empty: '{}', list: '[]', s: SECRET_MASK,
    });
    expect(['env[10]', 'env[2]', 'env[1]'].sort(naturalCompare)).toEqual(['env[1]', 'env[2]', 'env[10]']);
  });

  it('sorts resources, normalizes content hashes on request and never prints secret values', () => {
    const plan = buildPlan('dev', resources, { endpointUrl: 'https://x', token: 'hidden' }, ['token'], ['alertWebhookUrl'], { normalizeContent: true });
    const text = formatPlan(plan);
    expect(plan.resources.map((r) => r.type)).toEqual(['a:index/secret:Secret', 'b:index/job:Job']);
    expect(text).toContain('    value = [secret]');
    expect(text).toContain('    image = "reg/app:src-<content-hash>"');
    expect(text).toContain('    md5 = "<content-md5>"');
    expect(text).toContain('    token = [secret]');
    expect(text).toContain('    tags["managed-by"] = "pulumi"');
    expect(text).not.toContain('s3cr3t');
    expect(text).not.toContain('hidden');
  });

  it('reads its own text and JSON forms back', () => {
    const plan = buildPlan('dev', resources, { endpointUrl: 'https://x' }, [], ['alertWebhookUrl']);
    expect(parsePlan(formatPlan(plan))).toEqual(plan);
    expect(parsePlan(JSON.stringify(plan))).toEqual(plan);
    expect(() => parsePlan('hello')).toThrow('not a plan');
  });

  it('diffs added, removed and changed resources and outputs', () => {
    const before = buildPlan('dev', resources, { endpointUrl: 'https://x' }, [], []);
    const after = buildPlan('dev', [
      { ...resources[0]!, inputs: { ...resources[0]!.inputs, timeoutSeconds: 120 } },
      { type: 'c:index/new:New', name: 'fresh', inputs: {} },
    ], { endpointUrl: 'https://y' }, [], []);
    const diff = diffPlans(before, after);
    expect(formatDiff(diff, 'dev', 'dev')).toBe([
      'Plan diff dev → dev: 1 to add, 1 to change, 1 to remove',
      '+ c:index/new:New  fresh',
      '- a:index/secret:Secret  key',
      '~ b:index/job:Job  nightly',
      '    - timeoutSeconds = 60',
      '    + timeoutSeconds = 120',
      '~ outputs',
      '    - endpointUrl = "https://x"',
      '    + endpointUrl = "https://y"',
      '',
    ].join('\n'));
  });
});

describe('npm run plan', () => {
  const run = promisify(execFile);
  const plan = (...args: string[]) => run(process.execPath, ['--import', 'tsx', path.join('infra', 'plan.ts'), ...args], { cwd: PROJECT_ROOT, maxBuffer: 16 * 1024 * 1024 });

  it('prints no differences against the checked-in snapshot and a machine-readable form', async () => {
    const diff = await plan('dev', '--normalize', '--diff', path.join('infra', '__snapshots__', 'dev.plan.txt'));
    expect(diff.stdout).toBe('Plan diff dev (infra/__snapshots__/dev.plan.txt) → dev: 0 to add, 0 to change, 0 to remove\n');
    expect(diff.stderr).toMatch(/^plan of dev: 54 resources in \d+\.\d+ s\n$/);

    const json = JSON.parse((await plan('dev', '--json', '--normalize')).stdout);
    expect(json).toEqual(parsePlan(readFileSync(path.join(PROJECT_ROOT, 'infra', '__snapshots__', 'dev.plan.txt'), 'utf8')));
  });

  it('shows a cross-stack diff and exits 0', async () => {
    const diff = await plan('prod', '--normalize', '--diff', path.join('infra', '__snapshots__', 'dev.plan.txt'));
    expect(diff.stdout).toMatch(/^Plan diff dev \(.*\) → prod: \d+ to add, \d+ to change, \d+ to remove\n/);
    expect(diff.stdout).toContain('+ databricks:index/modelServing:ModelServing  serving-endpoint');
    expect(diff.stdout).toContain('    + sku.name = "Standard_ZRS"');
  });

  it('fails with usage on bad arguments and a readable error on bad config', async () => {
    await expect(plan()).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('usage: npm run plan -- <stack>') });
    await expect(plan('nosuchstack')).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('Pulumi.nosuchstack.yaml') });
  });
});
