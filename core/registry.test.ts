/** The model registry on both backends (local temp directory and an Azurite container), same test bodies. */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { UserError } from './errors';
import { ModelRegistry } from './registry';
import { azuriteConnectionString, azuriteEnv, createTestContainer } from '../test/support/blob';
import { freePort } from '../test/support/azurite';
import { sampleInput } from '../test/support/registryFixtures';

const run = promisify(execFile);
const REPO_ROOT = path.resolve(__dirname, '..');
const TSX = path.join(REPO_ROOT, 'node_modules', '.bin', 'tsx');
const MODEL = 'renewable_energy_predictor';

interface Backend {
  name: string;
  make(): Promise<{ uri: string; dispose(): Promise<void> }>;
  childEnv(): Record<string, string>;
}

const backends: Backend[] = [
  {
    name: 'local',
    async make() {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'registry-test-'));
      return { uri: dir, dispose: () => rm(dir, { recursive: true, force: true }) };
    },
    childEnv: () => ({}),
  },
  {
    name: 'azurite',
    async make() {
      const container = await createTestContainer({ prefix: 'registry' });
      return { uri: container.uri, dispose: container.dispose };
    },
    childEnv: () => azuriteEnv(),
  },
];

async function expectUserError(promise: Promise<unknown>, message: string | RegExp): Promise<void> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UserError);
  if (typeof message === 'string') expect((err as Error).message).toBe(message);
  else expect((err as Error).message).toMatch(message);
}

describe.each(backends)('ModelRegistry on $name', (backend) => {
  let registry: ModelRegistry;
  let dispose: () => Promise<void>;

  beforeEach(async () => {
    const made = await backend.make();
    registry = ModelRegistry.open(made.uri);
    dispose = made.dispose;
  });
  afterEach(async () => {
    await dispose();
  });

  async function registerMany(n: number): Promise<number[]> {
    const results = await Promise.all(
      Array.from({ length: n }, (_, i) => registry.register(MODEL, sampleInput(MODEL, `r${i}`))),
    );
    return results.map((r) => r.version);
  }

  it('registers a version and reads every part back', async () => {
    await registry.check();
    const rendered: number[] = [];
    const input = sampleInput(MODEL, 'first', { stage: 'candidate' });
    const { version, card } = await registry.register(MODEL, {
      ...input,
      cardMarkdown: (c) => {
        rendered.push(c.version);
        return input.cardMarkdown(c);
      },
    });
    expect(version).toBe(1);
    expect(rendered).toEqual([1]);
    expect(card).toMatchObject({ name: MODEL, version: 1, tags: { origin: 'fixture', stage: 'candidate' } });

    expect(await registry.getCard(MODEL, 1)).toEqual(card);
    expect((await registry.getModelBytes(MODEL, 1)).toString()).toBe('onnx bytes of first');
    expect(await registry.getReference<{ label: string }>(MODEL, 1)).toEqual({ label: 'first', quantiles: [0, 0.5, 1] });
    expect(await registry.getCardMarkdown(MODEL, 1)).toBe(`# ${MODEL} v1\n\nlabel: first\n`);
    expect(await registry.getTags(MODEL, 1)).toEqual({ origin: 'fixture', stage: 'candidate' });
    expect(await registry.listVersions(MODEL)).toEqual([1]);
    expect(await registry.latestVersion(MODEL)).toBe(1);
    expect(await registry.listModels()).toEqual([MODEL]);

    const second = await registry.register(MODEL, sampleInput(MODEL, 'second'));
    expect(second.version).toBe(2);
    await registry.register('other-model', sampleInput('other-model', 'x'));
    expect(await registry.listVersions(MODEL)).toEqual([1, 2]);
    expect(await registry.latestVersion(MODEL)).toBe(2);
    expect(await registry.listVersions('other-model')).toEqual([1]);
    expect(await registry.listModels()).toEqual(['other-model', MODEL]);
    expect(await registry.latestVersion('unknown')).toBeNull();
  });

  it('rejects invalid registrations with UserErrors', async () => {
    await expectUserError(registry.register(MODEL, { ...sampleInput(MODEL), onnx: new Uint8Array() }), /ONNX model is empty/);
    await expectUserError(registry.register('bad/name', sampleInput('bad/name')), /invalid model name 'bad\/name'/);
    await expectUserError(registry.register('..', sampleInput('..')), /invalid model name/);
    await expectUserError(registry.register(MODEL, sampleInput('another')), /card is named 'another'/);
    await expectUserError(registry.register(MODEL, { ...sampleInput(MODEL), reference: 10n }), /not JSON-serialisable/);
    expect(await registry.listVersions(MODEL)).toEqual([]);
  });

  it('reports a missing version with a readable message', async () => {
    await registry.register(MODEL, sampleInput(MODEL));
    const missing = `model '${MODEL}' has no version 7 in ${registry.uri}`;
    await expectUserError(registry.getCard(MODEL, 7), missing);
    await expectUserError(registry.getModelBytes(MODEL, 7), missing);
    await expectUserError(registry.getReference(MODEL, 7), missing);
    await expectUserError(registry.getCardMarkdown(MODEL, 7), missing);
    await expectUserError(registry.getTags(MODEL, 7), missing);
    await expectUserError(registry.resolve(MODEL, 7), missing);
    await expectUserError(registry.resolve(MODEL, '7'), missing);
    await expectUserError(registry.getCard(MODEL, 0), /invalid model version 0/);
  });

  it('allocates distinct versions 1..20 to 20 concurrent registrations, without mixing their files', async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => registry.register(MODEL, sampleInput(MODEL, `c${i}`))),
    );
    const versions = results.map((r) => r.version).sort((a, b) => a - b);
    expect(versions).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(await registry.listVersions(MODEL)).toEqual(versions);
    for (const { version, card } of results) {
      const label = String(card.params.label);
      expect((await registry.getCard(MODEL, version)).params.label).toBe(label);
      expect((await registry.getModelBytes(MODEL, version)).toString()).toBe(`onnx bytes of ${label}`);
      expect(await registry.getCardMarkdown(MODEL, version)).toContain(`v${version}\n\nlabel: ${label}`);
    }
  });

  it('allocates distinct versions to registrations from 4 separate processes', async () => {
    const env = { ...process.env, ...backend.childEnv() };
    const outputs = await Promise.all(
      [0, 1, 2, 3].map((p) =>
        run(TSX, [path.join(REPO_ROOT, 'test', 'support', 'registerWorker.ts'), registry.uri, MODEL, '5', `p${p}`], {
          cwd: REPO_ROOT,
          env,
          timeout: 90_000,
        }),
      ),
    );
    const allocated = outputs.flatMap((o) => JSON.parse(o.stdout.trim()) as Array<{ version: number; label: string }>);
    const versions = allocated.map((a) => a.version).sort((a, b) => a - b);
    expect(versions).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(await registry.listVersions(MODEL)).toEqual(versions);
    for (const { version, label } of allocated) {
      expect((await registry.getCard(MODEL, version)).params.label).toBe(label);
    }
  }, 120_000);

  it('skips an orphan claim left by a crashed registration and never reuses its number', async () => {
    await registry.register(MODEL, sampleInput(MODEL, 'one'));
    // A registration that died after claiming 2 and uploading the model, before its card.
    await registry.storage.put(`${MODEL}/versions/2/claim.json`, '{}');
    await registry.storage.put(`${MODEL}/versions/2/model.onnx`, 'partial');
    expect(await registry.listVersions(MODEL)).toEqual([1]);
    expect(await registry.latestVersion(MODEL)).toBe(1);
    await expectUserError(registry.getModelBytes(MODEL, 2), `model '${MODEL}' has no version 2 in ${registry.uri}`);
    await expectUserError(registry.setAlias(MODEL, 'champion', 2), /no such version/);

    const next = await registry.register(MODEL, sampleInput(MODEL, 'three'));
    expect(next.version).toBe(3);
    expect(await registry.listVersions(MODEL)).toEqual([1, 3]);
    expect(await registry.resolve(MODEL, 'latest')).toBe(3);
  });

  it('keeps aliases in the simple {"alias": version} shape and resolves them', async () => {
    await registerMany(2);
    expect(await registry.getAliases(MODEL)).toEqual({});
    await expectUserError(registry.resolve(MODEL, 'champion'), `model '${MODEL}' has no alias 'champion' in ${registry.uri}; known aliases: (none)`);

    await registry.setAlias(MODEL, 'champion', 1);
    expect(await registry.setAlias(MODEL, 'challenger', 2)).toEqual({ champion: 1, challenger: 2 });
    expect(JSON.parse((await registry.storage.get(`${MODEL}/aliases.json`)).toString())).toEqual({ champion: 1, challenger: 2 });
    expect(await registry.resolve(MODEL, 'champion')).toBe(1);
    expect(await registry.resolve(MODEL, 'challenger')).toBe(2);
    expect(await registry.resolve(MODEL, 2)).toBe(2);
    expect(await registry.resolve(MODEL, 'latest')).toBe(2);
    await expectUserError(
      registry.resolve(MODEL, 'shadow'),
      `model '${MODEL}' has no alias 'shadow' in ${registry.uri}; known aliases: challenger, champion`,
    );

    expect(await registry.deleteAlias(MODEL, 'challenger')).toEqual({ champion: 1 });
    expect(await registry.deleteAlias(MODEL, 'challenger')).toEqual({ champion: 1 });
    await expectUserError(registry.setAlias(MODEL, 'Champion', 1), /invalid alias name 'Champion'/);
    await expectUserError(registry.setAlias(MODEL, 'latest', 1), /reserved/);
    await expectUserError(registry.setAlias(MODEL, 'champion', 9), /cannot point alias 'champion' .* to version 9: no such version/);
    expect(await registry.getAliases(MODEL)).toEqual({ champion: 1 });
    await expectUserError(
      registry.updateAliases(MODEL, () => ({ champion: 1.5 })),
      /invalid model version 1.5/,
    );
  });

  it('reports an alias that points to a missing version', async () => {
    await registry.register(MODEL, sampleInput(MODEL));
    await registry.storage.put(`${MODEL}/aliases.json`, JSON.stringify({ champion: 7, challenger: 1 }));
    await expectUserError(
      registry.resolve(MODEL, 'champion'),
      `alias 'champion' of model '${MODEL}' points to version 7, which does not exist in ${registry.uri}`,
    );
    expect(await registry.resolve(MODEL, 'challenger')).toBe(1);
    // Other aliases can still be updated, and the dangling one can be repaired.
    await registry.setAlias(MODEL, 'shadow', 1);
    await registry.setAlias(MODEL, 'champion', 1);
    expect(await registry.resolve(MODEL, 'champion')).toBe(1);
  });

  it('reports a damaged aliases.json', async () => {
    await registry.storage.put(`${MODEL}/aliases.json`, '{"champion": "three"}');
    await expectUserError(registry.getAliases(MODEL), /aliases\.json .* is damaged: .*alias 'champion' must map to a version number/);
    await registry.storage.put(`${MODEL}/aliases.json`, '{"champion": 3');
    await expectUserError(registry.resolve(MODEL, 'champion'), /aliases\.json .* is not valid JSON/);
  });

  it('lands every one of 20 concurrent alias updates; the file is never torn', async () => {
    await registerMany(20);
    await registry.setAlias(MODEL, 'counter', 1);
    let reads = 0;
    let stop = false;
    const reader = (async () => {
      while (!stop) {
        const raw = await registry.storage.getWithEtag(`${MODEL}/aliases.json`);
        if (raw) {
          const parsed = JSON.parse(raw.data.toString()) as Record<string, number>;
          expect(typeof parsed.counter).toBe('number');
          reads++;
        }
        await new Promise((r) => setTimeout(r, 2));
      }
    })();

    await Promise.all([
      // 20 updates of different aliases ...
      ...Array.from({ length: 20 }, (_, i) =>
        registry.updateAliases(MODEL, (current) => ({ ...current, [`alias-${i}`]: i + 1 })),
      ),
      // ... racing with 19 read-modify-write increments of one alias: a lost update would leave it below 20.
      ...Array.from({ length: 19 }, () =>
        registry.updateAliases(MODEL, (current) => ({ ...current, counter: (current.counter ?? 0) + 1 })),
      ),
    ]);
    stop = true;
    await reader;

    const aliases = await registry.getAliases(MODEL);
    expect(aliases.counter).toBe(20);
    for (let i = 0; i < 20; i++) expect(aliases[`alias-${i}`]).toBe(i + 1);
    expect(Object.keys(aliases)).toHaveLength(21);
    expect(reads).toBeGreaterThan(0);
  }, 60_000);

  it('updates tags atomically; null deletes a tag', async () => {
    await registry.register(MODEL, sampleInput(MODEL, 'x', { stage: 'candidate' }));
    expect(await registry.setTags(MODEL, 1, { stage: 'production', origin: null, owner: 'team' })).toEqual({
      stage: 'production',
      owner: 'team',
    });
    await Promise.all(Array.from({ length: 10 }, (_, i) => registry.setTags(MODEL, 1, { [`k${i}`]: String(i) })));
    const tags = await registry.getTags(MODEL, 1);
    expect(Object.keys(tags).sort()).toEqual(['k0', 'k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7', 'k8', 'k9', 'owner', 'stage']);
    // The card keeps the registration tags.
    expect((await registry.getCard(MODEL, 1)).tags).toEqual({ origin: 'fixture', stage: 'candidate' });
    await expectUserError(registry.setTags(MODEL, 2, { a: 'b' }), `model '${MODEL}' has no version 2 in ${registry.uri}`);
    await expectUserError(registry.setTags(MODEL, 1, { a: 3 as unknown as string }), /tag 'a' must be a string/);
  });
});

describe('ModelRegistry on unreachable or invalid storage', () => {
  afterAll(() => {
    vi.unstubAllEnvs();
  });

  it('fails check() and reads with a one-line UserError within a few seconds when the endpoint is down', async () => {
    const port = await freePort();
    const uri = `http://127.0.0.1:${port}/devstoreaccount1/models`;
    vi.stubEnv(
      'AZURE_STORAGE_CONNECTION_STRING',
      azuriteConnectionString().replace(/BlobEndpoint=[^;]*/, `BlobEndpoint=http://127.0.0.1:${port}/devstoreaccount1`),
    );
    const registry = ModelRegistry.open(uri);
    for (const attempt of [() => registry.check(), () => registry.listVersions(MODEL), () => registry.resolve(MODEL, 'champion')]) {
      const started = Date.now();
      const err = await attempt().then(
        () => null,
        (e: unknown) => e as Error,
      );
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(err).toBeInstanceOf(UserError);
      expect(err?.message).toContain(uri);
      expect(err?.message).toContain('connection refused');
      expect(err?.message).not.toContain('\n');
      expect(err?.message).not.toMatch(/AccountKey|Eby8/);
    }
  });

  it.each(['s3://bucket/models', 'https://example.com/models', 'gs://b/x', 'ftp://host/x'])('rejects %s', (uri) => {
    expect(() => ModelRegistry.open(uri)).toThrow(UserError);
    expect(() => ModelRegistry.open(uri)).toThrow(/accepted: .*blob\.core\.windows\.net/);
  });
});
