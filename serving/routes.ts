/**
 * Route specs (`champion=90,challenger=10`) and the canary router: a weighted random split between registry aliases,
 * or a sticky one when the request carries a routing key (same key → same alias for the same weights, across
 * restarts and replicas, because the bucket is a hash of the key rather than any server state).
 */
import { UserError } from '../core/errors';
import { validateAliasName } from '../core/registry';

export interface Route {
  alias: string;
  /** Integer percentage; all routes sum to 100. */
  weight: number;
}

export function parseRoutes(spec: string, flag = '--routes'): Route[] {
  const routes: Route[] = [];
  for (const part of spec.split(',')) {
    const item = part.trim();
    if (item === '') continue;
    const eq = item.indexOf('=');
    const alias = (eq < 0 ? item : item.slice(0, eq)).trim();
    const weightText = eq < 0 ? '' : item.slice(eq + 1).trim();
    try {
      validateAliasName(alias);
    } catch (err) {
      throw new UserError(`${flag}: ${(err as Error).message} (in '${spec}')`);
    }
    if (!/^\d+$/.test(weightText)) {
      throw new UserError(`${flag}: the weight of '${alias}' must be an integer percentage between 0 and 100, got '${weightText}' (in '${spec}')`);
    }
    const weight = Number(weightText);
    if (weight > 100) throw new UserError(`${flag}: the weight of '${alias}' must be between 0 and 100, got ${weight}`);
    if (routes.some((r) => r.alias === alias)) throw new UserError(`${flag}: alias '${alias}' appears twice in '${spec}'`);
    routes.push({ alias, weight });
  }
  if (routes.length === 0) throw new UserError(`${flag}: no routes given; expected e.g. champion=90,challenger=10`);
  const total = routes.reduce((s, r) => s + r.weight, 0);
  if (total !== 100) throw new UserError(`${flag}: weights must sum to 100, got ${total} in '${spec}'`);
  return routes;
}

/** Resolution of the split: 10,000 buckets, so integer percentages map exactly. */
const BUCKETS = 10_000;

export class Router {
  /** Cumulative upper bucket bound per route, only routes with weight > 0. */
  private readonly bounds: { alias: string; upper: number }[] = [];

  constructor(readonly routes: readonly Route[]) {
    let acc = 0;
    for (const r of routes) {
      if (r.weight === 0) continue;
      acc += (r.weight * BUCKETS) / 100;
      this.bounds.push({ alias: r.alias, upper: acc });
    }
  }

  /** The alias for a request: sticky when `routingKey` is given, weighted random otherwise. */
  pick(routingKey?: string): string {
    const bucket = routingKey ? stableBucket(routingKey) : Math.floor(Math.random() * BUCKETS);
    const bounds = this.bounds;
    for (let i = 0; i < bounds.length; i++) if (bucket < bounds[i]!.upper) return bounds[i]!.alias;
    return bounds[bounds.length - 1]!.alias;
  }
}

/** FNV-1a (32-bit) over UTF-16 code units, then a multiplicative mix, into [0, BUCKETS). Stable by construction. */
export function stableBucket(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  // FNV's low bits are weak for short keys; finalize like murmur3's fmix32.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) % BUCKETS;
}
