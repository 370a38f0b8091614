/**
 * API keys and per-caller rate limits for the scoring routes.
 *
 * Keys are kept only as SHA-256 digests; a presented key is hashed and compared with every configured digest using
 * `crypto.timingSafeEqual` (equal-length digests, no early exit), so neither the content nor the length of a key
 * leaks through timing. Keys never appear in logs or errors.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { UserError } from '../core/errors';

export class ApiKeys {
  private readonly digests: Buffer[];

  constructor(keys: readonly string[]) {
    this.digests = keys.map((k) => sha256(k));
  }

  get enabled(): boolean {
    return this.digests.length > 0;
  }

  get size(): number {
    return this.digests.length;
  }

  /** Index of the matching key (a stable identity for rate limiting), or -1. */
  match(presented: string): number {
    const digest = sha256(presented);
    let found = -1;
    for (let i = 0; i < this.digests.length; i++) {
      if (timingSafeEqual(digest, this.digests[i]!) && found < 0) found = i;
    }
    return found;
  }

  /** Key index for an `Authorization` header, or -1 when it is absent, malformed or unknown. */
  authorize(header: string | undefined): number {
    if (!header) return -1;
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) return -1;
    return this.match(match[1]!);
  }
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/**
 * Keys from a comma-separated list and/or a file with one key per line (blank lines and `#` comments ignored;
 * Key Vault secrets mounted as files hold a single key, possibly with a trailing newline).
 */
export function loadApiKeys(list: string | undefined, file: string | undefined): string[] {
  const keys: string[] = [];
  if (list) keys.push(...list.split(',').map((k) => k.trim()).filter((k) => k !== ''));
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new UserError(`cannot read the API key file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    const fromFile = text
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    if (fromFile.length === 0) throw new UserError(`the API key file ${file} contains no keys`);
    keys.push(...fromFile);
  }
  for (const k of keys) {
    if (/\s/.test(k)) throw new UserError('API keys must not contain whitespace');
    if (k.length < 8) throw new UserError('API keys must be at least 8 characters long');
  }
  return [...new Set(keys)];
}

/**
 * Token buckets per caller (API key index, or client address when auth is off): `rate` tokens per second, at most
 * `burst` stored. Buckets are refilled lazily on use; idle full buckets are forgotten so memory stays bounded.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private lastSweep = 0;

  constructor(
    readonly rate: number,
    readonly burst: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Takes one token; returns 0 when allowed, else the seconds until a token is available. */
  take(caller: string): number {
    const t = this.now();
    let b = this.buckets.get(caller);
    if (!b) {
      b = { tokens: this.burst, at: t };
      this.buckets.set(caller, b);
      if (this.buckets.size > 10_000 && t - this.lastSweep > 1_000) this.sweep(t);
    } else {
      b.tokens = Math.min(this.burst, b.tokens + ((t - b.at) / 1000) * this.rate);
      b.at = t;
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return (1 - b.tokens) / this.rate;
  }

  private sweep(t: number): void {
    this.lastSweep = t;
    for (const [k, b] of this.buckets) {
      if (b.tokens + ((t - b.at) / 1000) * this.rate >= this.burst) this.buckets.delete(k);
    }
  }
}
