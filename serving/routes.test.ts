import { describe, expect, it } from 'vitest';
import { Router, parseRoutes, stableBucket } from './routes';

describe('parseRoutes', () => {
  it('reads alias=weight pairs summing to 100', () => {
    expect(parseRoutes('champion=90, challenger=10')).toEqual([
      { alias: 'champion', weight: 90 },
      { alias: 'challenger', weight: 10 },
    ]);
    expect(parseRoutes('champion=100')).toEqual([{ alias: 'champion', weight: 100 }]);
  });
  it('names the problem in bad specs', () => {
    expect(() => parseRoutes('champion=90,challenger=20')).toThrow(/sum to 100, got 110/);
    expect(() => parseRoutes('champion=9.5,challenger=90.5')).toThrow(/weight of 'champion' must be an integer/);
    expect(() => parseRoutes('champion')).toThrow(/weight of 'champion'/);
    expect(() => parseRoutes('champion=50,champion=50')).toThrow(/appears twice/);
    expect(() => parseRoutes('Champion=100')).toThrow(/invalid alias name 'Champion'/);
    expect(() => parseRoutes('')).toThrow(/no routes/);
  });
});

describe('Router', () => {
  it('is sticky and stable for a routing key', () => {
    const a = new Router(parseRoutes('champion=50,challenger=50'));
    const b = new Router(parseRoutes('champion=50,challenger=50'));
    for (let i = 0; i < 200; i++) expect(a.pick(`user-${i}`)).toBe(b.pick(`user-${i}`));
    // The bucket function must never change, or sticky callers would move to another route after an upgrade.
    expect(stableBucket('user-1')).toBe(STABLE_USER_1);
  });
  it('spreads routing keys and random picks by weight', () => {
    const router = new Router(parseRoutes('champion=80,challenger=20'));
    let keyed = 0;
    let random = 0;
    const n = 20_000;
    for (let i = 0; i < n; i++) {
      if (router.pick(`key-${i}`) === 'challenger') keyed++;
      if (router.pick() === 'challenger') random++;
    }
    expect(Math.abs(keyed / n - 0.2)).toBeLessThan(0.02);
    expect(Math.abs(random / n - 0.2)).toBeLessThan(0.02);
  });
  it('never picks a zero-weight route', () => {
    const router = new Router(parseRoutes('champion=100,challenger=0'));
    for (let i = 0; i < 1000; i++) expect(router.pick(String(i))).toBe('champion');
  });
});

const STABLE_USER_1 = stableBucketReference('user-1');

/** Straightforward re-implementation (FNV-1a 32 + murmur3 fmix32) to pin the routing function. */
function stableBucketReference(key: string): number {
  let h = 0x811c9dc5;
  for (const ch of key) {
    h = Number((BigInt(h ^ ch.charCodeAt(0)) * 0x01000193n) & 0xffffffffn);
  }
  h = (h ^ (h >>> 16)) >>> 0;
  h = Number((BigInt(h) * 0x85ebca6bn) & 0xffffffffn);
  h = (h ^ (h >>> 13)) >>> 0;
  h = Number((BigInt(h) * 0xc2b2ae35n) & 0xffffffffn);
  h = (h ^ (h >>> 16)) >>> 0;
  return h % 10_000;
}
