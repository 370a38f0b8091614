// Turns a mock-engine run into a deterministic plan (sorted resources with flattened inputs, secrets
// masked) and compares two plans. Pure functions: the CLI (plan.ts) and the snapshot tests share them.
import { isSecretMarker, markSecret, type RecordedResource } from './mockEngine';

export const SECRET_MASK = '[secret]';

export interface PlanResource {
  readonly type: string;
  readonly name: string;
  /** Flattened inputs (`a.b[0].c`) → JSON-encoded value, sorted by key. */
  readonly inputs: Record<string, string>;
}

export interface Plan {
  readonly stack: string;
  /** Secret config keys the plan filled with placeholders (their values are masked anyway). */
  readonly placeholders: string[];
  readonly resources: PlanResource[];
  readonly outputs: Record<string, string>;
}

export interface PlanOptions {
  /** Replace content-derived values (image source hashes, launcher md5) so snapshots survive code edits. */
  readonly normalizeContent?: boolean;
}

function flattenInto(value: unknown, key: string, into: Record<string, string>, options: PlanOptions): void {
  if (isSecretMarker(value)) {
    into[key] = SECRET_MASK;
    return;
  }
  if (Array.isArray(value)) {
    if (value.length === 0) into[key] = '[]';
    value.forEach((item, index) => flattenInto(item, `${key}[${index}]`, into, options));
    return;
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    if (entries.length === 0 && key !== '') into[key] = '{}';
    for (const [child, v] of entries) {
      const safe = /^[A-Za-z_$][\w$]*$/.test(child) ? child : JSON.stringify(child);
      flattenInto(v, key === '' ? safe : /^[A-Za-z_$]/.test(safe) ? `${key}.${safe}` : `${key}[${safe}]`, into, options);
    }
    return;
  }
  let encoded = JSON.stringify(value) ?? 'undefined';
  if (options.normalizeContent) {
    encoded = encoded.replace(/\bsrc-[0-9a-f]{12}\b/g, 'src-<content-hash>');
    if (/(^|\.)md5$/.test(key)) encoded = '"<content-md5>"';
  }
  into[key] = encoded;
}

/** Code-point order, except that runs of digits compare as numbers (env[2] before env[10]). */
export function naturalCompare(a: string, b: string): number {
  const left = a.split(/(\d+)/);
  const right = b.split(/(\d+)/);
  for (let i = 0; i < Math.min(left.length, right.length); i += 1) {
    const x = left[i] ?? '';
    const y = right[i] ?? '';
    if (x === y) continue;
    if (i % 2 === 1) return Number(x) - Number(y) || (x < y ? -1 : 1);
    return x < y ? -1 : 1;
  }
  return left.length - right.length;
}

export function flatten(value: unknown, options: PlanOptions = {}): Record<string, string> {
  const into: Record<string, string> = {};
  flattenInto(value, '', into, options);
  return Object.fromEntries(Object.entries(into).sort(([a], [b]) => naturalCompare(a, b)));
}

const byTypeAndName = (a: { type: string; name: string }, b: { type: string; name: string }) =>
  a.type === b.type ? (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) : a.type < b.type ? -1 : 1;

export function buildPlan(
  stack: string,
  resources: readonly RecordedResource[],
  outputs: Record<string, unknown>,
  secretOutputs: readonly string[],
  placeholders: readonly string[],
  options: PlanOptions = {},
): Plan {
  const planned = resources
    .map((resource) => ({ type: resource.type, name: resource.name, inputs: flatten(resource.inputs, options) }))
    .sort(byTypeAndName);
  const maskedOutputs: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(outputs)) {
    if (value === undefined) continue;
    maskedOutputs[key] = secretOutputs.includes(key) ? markSecret(value) : value;
  }
  return { stack, placeholders: [...placeholders].sort(), resources: planned, outputs: flatten(maskedOutputs, options) };
}

export function formatPlan(plan: Plan): string {
  const lines: string[] = [];
  const typeWidth = Math.max(4, ...plan.resources.map((r) => r.type.length));
  lines.push(`Offline plan for stack "${plan.stack}": ${plan.resources.length} resources (mock engine; secrets shown as ${SECRET_MASK})`);
  if (plan.placeholders.length > 0) lines.push(`Placeholder values for secret config: ${plan.placeholders.join(', ')}`);
  lines.push('');
  lines.push(`${'TYPE'.padEnd(typeWidth)}  NAME`);
  for (const resource of plan.resources) {
    lines.push(`${resource.type.padEnd(typeWidth)}  ${resource.name}`);
    for (const [key, value] of Object.entries(resource.inputs)) lines.push(`    ${key} = ${value}`);
  }
  lines.push('');
  lines.push('OUTPUTS');
  for (const [key, value] of Object.entries(plan.outputs)) lines.push(`    ${key} = ${value}`);
  return `${lines.join('\n')}\n`;
}

export interface PlanDiff {
  readonly added: PlanResource[];
  readonly removed: PlanResource[];
  readonly changed: { type: string; name: string; changes: { key: string; before?: string; after?: string }[] }[];
  readonly outputChanges: { key: string; before?: string; after?: string }[];
}

function diffMaps(before: Record<string, string>, after: Record<string, string>) {
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  return keys
    .filter((key) => before[key] !== after[key])
    .map((key) => ({ key, ...(before[key] !== undefined ? { before: before[key] } : {}), ...(after[key] !== undefined ? { after: after[key] } : {}) }));
}

export function diffPlans(previous: Plan, next: Plan): PlanDiff {
  const id = (r: PlanResource) => `${r.type}::${r.name}`;
  const before = new Map(previous.resources.map((r) => [id(r), r]));
  const after = new Map(next.resources.map((r) => [id(r), r]));
  const changed: PlanDiff['changed'] = [];
  for (const [key, resource] of after) {
    const old = before.get(key);
    if (old === undefined) continue;
    const changes = diffMaps(old.inputs, resource.inputs);
    if (changes.length > 0) changed.push({ type: resource.type, name: resource.name, changes });
  }
  return {
    added: next.resources.filter((r) => !before.has(id(r))),
    removed: previous.resources.filter((r) => !after.has(id(r))),
    changed,
    outputChanges: diffMaps(previous.outputs, next.outputs),
  };
}

export function formatDiff(diff: PlanDiff, previousStack: string, nextStack: string): string {
  const lines = [`Plan diff ${previousStack} → ${nextStack}: ${diff.added.length} to add, ${diff.changed.length} to change, ${diff.removed.length} to remove`];
  for (const r of diff.added) lines.push(`+ ${r.type}  ${r.name}`);
  for (const r of diff.removed) lines.push(`- ${r.type}  ${r.name}`);
  for (const r of diff.changed) {
    lines.push(`~ ${r.type}  ${r.name}`);
    for (const c of r.changes) {
      if (c.before !== undefined) lines.push(`    - ${c.key} = ${c.before}`);
      if (c.after !== undefined) lines.push(`    + ${c.key} = ${c.after}`);
    }
  }
  if (diff.outputChanges.length > 0) {
    lines.push('~ outputs');
    for (const c of diff.outputChanges) {
      if (c.before !== undefined) lines.push(`    - ${c.key} = ${c.before}`);
      if (c.after !== undefined) lines.push(`    + ${c.key} = ${c.after}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** Reads a plan back from its JSON (`--json`) or text (`formatPlan`, snapshot) form. */
export function parsePlan(text: string): Plan {
  if (text.trimStart().startsWith('{')) return JSON.parse(text) as Plan;
  const lines = text.split('\n');
  const header = /^Offline plan for stack "([^"]+)"/.exec(lines[0] ?? '');
  if (!header?.[1]) throw new Error('not a plan: expected the header line of `npm run plan` output or its --json form');
  const placeholders = (/^Placeholder values for secret config: (.*)$/.exec(lines[1] ?? '')?.[1] ?? '').split(', ').filter(Boolean);
  const resources: { type: string; name: string; inputs: Record<string, string> }[] = [];
  const outputs: Record<string, string> = {};
  let section: 'preamble' | 'resources' | 'outputs' = 'preamble';
  for (const line of lines.slice(1)) {
    if (line.startsWith('TYPE ')) { section = 'resources'; continue; }
    if (line === 'OUTPUTS') { section = 'outputs'; continue; }
    if (section === 'preamble' || line.trim() === '') continue;
    const entry = /^ {4}(.+?) = (.*)$/.exec(line);
    if (entry?.[1] !== undefined && entry[2] !== undefined) {
      const target = section === 'outputs' ? outputs : resources[resources.length - 1]?.inputs;
      if (target) target[entry[1]] = entry[2];
      continue;
    }
    const row = /^(\S+)\s+(\S+)$/.exec(line);
    if (section === 'resources' && row?.[1] !== undefined && row[2] !== undefined) resources.push({ type: row[1], name: row[2], inputs: {} });
  }
  return { stack: header[1], placeholders, resources, outputs };
}
