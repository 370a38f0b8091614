import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ApiKeys, RateLimiter, loadApiKeys } from './auth';

describe('ApiKeys', () => {
  const keys = new ApiKeys(['first-key-123', 'second-key-456']);
  it('matches bearer keys and identifies which one', () => {
    expect(keys.authorize('Bearer first-key-123')).toBe(0);
    expect(keys.authorize('bearer second-key-456')).toBe(1);
    expect(keys.authorize('Bearer first-key-12')).toBe(-1);
    expect(keys.authorize('Basic first-key-123')).toBe(-1);
    expect(keys.authorize(undefined)).toBe(-1);
    expect(keys.authorize('Bearer ')).toBe(-1);
  });
  it('is disabled without keys', () => {
    expect(new ApiKeys([]).enabled).toBe(false);
  });
});

describe('loadApiKeys', () => {
  it('merges the list and the key file, ignoring blanks and comments', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'keys-'));
    try {
      const file = path.join(dir, 'keys');
      writeFileSync(file, '# rotated 2024-05\nfile-key-000001\n\nfile-key-000002\r\n');
      expect(loadApiKeys('list-key-0001, list-key-0002', file)).toEqual(['list-key-0001', 'list-key-0002', 'file-key-000001', 'file-key-000002']);
      writeFileSync(file, '\n');
      expect(() => loadApiKeys(undefined, file)).toThrow(/contains no keys/);
      expect(() => loadApiKeys(undefined, path.join(dir, 'absent'))).toThrow(/cannot read the API key file/);
      expect(() => loadApiKeys('short', undefined)).toThrow(/at least 8/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('RateLimiter', () => {
  it('allows a burst, then the rate, per caller', () => {
    let now = 0;
    const limiter = new RateLimiter(2, 3, () => now);
    expect([limiter.take('a'), limiter.take('a'), limiter.take('a')]).toEqual([0, 0, 0]);
    expect(limiter.take('a')).toBeCloseTo(0.5);
    expect(limiter.take('b')).toBe(0);
    now += 500;
    expect(limiter.take('a')).toBe(0);
    expect(limiter.take('a')).toBeGreaterThan(0);
    now += 10_000;
    expect([limiter.take('a'), limiter.take('a'), limiter.take('a'), limiter.take('a') > 0]).toEqual([0, 0, 0, true]);
  });
});
