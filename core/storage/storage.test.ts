/** The Storage contract, run against both backends: a local temp directory and a container on Azurite. */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NotFoundError, PreconditionFailedError, UserError } from '../errors';
import { createTestContainer } from '../../test/support/blob';
import { LocalStorage, openStorage } from './index';
import type { Storage } from './types';

interface Backend {
  name: string;
  make(): Promise<{ storage: Storage; dispose(): Promise<void> }>;
}

const backends: Backend[] = [
  {
    name: 'local',
    async make() {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'storage-test-'));
      return { storage: new LocalStorage(dir), dispose: () => rm(dir, { recursive: true, force: true }) };
    },
  },
  {
    name: 'azurite',
    async make() {
      const container = await createTestContainer();
      return { storage: openStorage(container.uri), dispose: container.dispose };
    },
  },
];

describe.each(backends)('Storage contract: $name', (backend) => {
  let storage: Storage;
  let dispose: () => Promise<void>;

  beforeEach(async () => {
    ({ storage, dispose } = await backend.make());
  });
  afterEach(async () => {
    await dispose();
  });

  it('check() succeeds on an existing, reachable storage', async () => {
    await expect(storage.check()).resolves.toBeUndefined();
  });

  it('puts and gets text and binary objects, with ETags that follow the content', async () => {
    const binary = Buffer.from([0, 1, 2, 255, 254, 0, 10, 13]);
    const put1 = await storage.put('a/b/bin.onnx', binary);
    const put2 = await storage.put('text.json', '{"x": "é"}');
    expect(await storage.get('a/b/bin.onnx')).toEqual(binary);
    expect((await storage.get('text.json')).toString('utf8')).toBe('{"x": "é"}');

    const read = await storage.getWithEtag('a/b/bin.onnx');
    expect(read?.data).toEqual(binary);
    expect(read?.etag).toBe(put1.etag);
    expect(put1.etag).not.toBe(put2.etag);

    const put3 = await storage.put('a/b/bin.onnx', Buffer.from('changed'));
    expect(put3.etag).not.toBe(put1.etag);
    expect((await storage.get('a/b/bin.onnx')).toString()).toBe('changed');
    expect((await storage.getWithEtag('a/b/bin.onnx'))?.etag).toBe(put3.etag);
  });

  it('stores empty objects', async () => {
    await storage.put('empty', Buffer.alloc(0));
    expect((await storage.get('empty')).length).toBe(0);
    expect(await storage.exists('empty')).toBe(true);
  });

  it('reports missing objects: get → NotFoundError, getWithEtag → null, exists → false', async () => {
    await expect(storage.get('nope/missing.json')).rejects.toBeInstanceOf(NotFoundError);
    await expect(storage.getWithEtag('nope/missing.json')).resolves.toBeNull();
    await expect(storage.exists('nope/missing.json')).resolves.toBe(false);
  });

  it('deletes objects; deleting an absent key is not an error', async () => {
    await storage.put('d/x.txt', 'x');
    expect(await storage.exists('d/x.txt')).toBe(true);
    await storage.delete('d/x.txt');
    expect(await storage.exists('d/x.txt')).toBe(false);
    await expect(storage.get('d/x.txt')).rejects.toBeInstanceOf(NotFoundError);
    await expect(storage.delete('d/x.txt')).resolves.toBeUndefined();
    await expect(storage.delete('never/was/here')).resolves.toBeUndefined();
  });

  it('lists recursively, sorted by key, filtered by a plain string prefix', async () => {
    const keys = ['m/versions/10/card.json', 'm/versions/2/card.json', 'm/aliases.json', 'm2/x', 'other.txt', 'm/versions/2/model.onnx'];
    for (const key of keys) await storage.put(key, `content of ${key}`);

    const all = await storage.list('');
    expect(all.map((o) => o.key)).toEqual([...keys].sort());
    const first = all.find((o) => o.key === 'other.txt');
    expect(first?.size).toBe(Buffer.byteLength('content of other.txt'));
    expect(first?.lastModified).toBeInstanceOf(Date);
    expect(Math.abs(Date.now() - (first?.lastModified.getTime() ?? 0))).toBeLessThan(5 * 60_000);

    expect((await storage.list('m/')).map((o) => o.key)).toEqual([
      'm/aliases.json',
      'm/versions/10/card.json',
      'm/versions/2/card.json',
      'm/versions/2/model.onnx',
    ]);
    expect((await storage.list('m')).map((o) => o.key)).toContain('m2/x');
    expect((await storage.list('m/versions/1')).map((o) => o.key)).toEqual(['m/versions/10/card.json']);
    expect(await storage.list('absent/')).toEqual([]);
  });

  it('exclusive create (ifNoneMatch "*") fails on an existing key and keeps the old content', async () => {
    await storage.put('claim.json', 'first', { ifNoneMatch: '*' });
    await expect(storage.put('claim.json', 'second', { ifNoneMatch: '*' })).rejects.toBeInstanceOf(PreconditionFailedError);
    expect((await storage.get('claim.json')).toString()).toBe('first');
  });

  it('exclusive create has exactly one winner among concurrent writers', async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 12 }, (_, i) => storage.put('race/claim.json', `writer ${i}`, { ifNoneMatch: '*' })),
    );
    const winners = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
    expect(winners).toHaveLength(1);
    for (const r of results) {
      if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(PreconditionFailedError);
    }
    expect((await storage.get('race/claim.json')).toString()).toBe(`writer ${winners[0]}`);
  });

  it('ifMatch replaces only the version it was read from', async () => {
    const { etag } = await storage.put('cas.json', '1');
    const { etag: etag2 } = await storage.put('cas.json', '2', { ifMatch: etag });
    await expect(storage.put('cas.json', '3', { ifMatch: etag })).rejects.toBeInstanceOf(PreconditionFailedError);
    expect((await storage.get('cas.json')).toString()).toBe('2');
    await storage.put('cas.json', '3', { ifMatch: etag2 });
    expect((await storage.get('cas.json')).toString()).toBe('3');
  });

  it('ifMatch on a missing key fails with PreconditionFailedError', async () => {
    const { etag } = await storage.put('gone.json', 'x');
    await storage.delete('gone.json');
    await expect(storage.put('gone.json', 'y', { ifMatch: etag })).rejects.toBeInstanceOf(PreconditionFailedError);
    expect(await storage.exists('gone.json')).toBe(false);
  });

  it('compare-and-swap loops never lose an update', async () => {
    await storage.put('counter', '0');
    const increment = async (): Promise<void> => {
      for (;;) {
        const current = await storage.getWithEtag('counter');
        if (!current) throw new Error('counter vanished');
        try {
          await storage.put('counter', String(Number(current.data.toString()) + 1), { ifMatch: current.etag });
          return;
        } catch (err) {
          if (!(err instanceof PreconditionFailedError)) throw err;
          await new Promise((r) => setTimeout(r, Math.random() * 20));
        }
      }
    };
    await Promise.all(Array.from({ length: 10 }, increment));
    expect((await storage.get('counter')).toString()).toBe('10');
  });

  it.each(['', '/abs/key', '../escape', 'a/../../b', 'a//b', 'a/./b', 'a\\b', 'dir/.~lock.x'])(
    'rejects the invalid key %j with a UserError',
    async (key) => {
      await expect(storage.put(key, 'x')).rejects.toBeInstanceOf(UserError);
      await expect(storage.get(key)).rejects.toBeInstanceOf(UserError);
    },
  );

  it('rejects list prefixes that escape the root', async () => {
    await expect(storage.list('../')).rejects.toBeInstanceOf(UserError);
    await expect(storage.list('/etc')).rejects.toBeInstanceOf(UserError);
  });
});
