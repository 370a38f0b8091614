/**
 * Assembles the serving image's runtime tree — what `serving/Dockerfile` copies into its final stage — without a
 * Docker engine: compiled `dist/`, `package.json`, and only the production packages the server can load, with
 * onnxruntime-node reduced to its linux/x64 binaries (it ships every platform, ~290 MB) and type declarations and
 * source maps dropped. Pulumi packages (infrastructure only) never enter the tree.
 *
 * Which packages: every bare module specifier reachable from `dist/jobs/cli.js` (static requires) and from
 * `dist/serving/main.js` (static and lazy imports: onnxruntime and the Azure SDK load lazily), then their dependency
 * closure from package-lock.json, resolved like Node does (nested node_modules first).
 *
 *   npm run build && npx tsx serving/scripts/assembleRuntime.ts [--out <dir>] [--no-check] [--json]
 *
 * Without `--no-check` it trains a small model into a temporary registry, starts
 * `node dist/jobs/cli.js serve` from the assembled tree (which cannot see the repository's node_modules), checks
 * `/health` is 200 and a prediction is served, stops it with SIGTERM, and prints the tree size. The Dockerfile runs
 * the compiled script with `--no-check` in its build stage.
 */
import { spawn } from 'node:child_process';
import { builtinModules } from 'node:module';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** Never in the serving runtime, whatever references them (infrastructure-as-code only). */
const EXCLUDED = [/^@pulumi\//];
const ORT_PLATFORM = { os: 'linux', arch: 'x64' };
const SIZE_GOAL_MB = 250;

interface LockPackage {
  dev?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

function findRepoRoot(): string {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    if (existsSync(path.join(dir, 'package-lock.json')) && existsSync(path.join(dir, 'package.json'))) return dir;
    dir = path.dirname(dir);
  }
  throw new Error('cannot find the repository root (package-lock.json) above ' + __dirname);
}

const BUILTINS = new Set(builtinModules);
const STATIC_REQUIRE = /\brequire\(\s*["']([^"']+)["']\s*\)/g;
const DYNAMIC_IMPORT = /\bimport\(\s*["']([^"']+)["']\s*\)/g;

function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
}

function resolveRelative(from: string, specifier: string): string | null {
  const base = path.resolve(path.dirname(from), specifier);
  for (const candidate of [base, `${base}.js`, path.join(base, 'index.js')]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  return null;
}

/** Bare package names reachable from the entry points in compiled JS. */
export function reachablePackages(entries: { file: string; followDynamic: boolean }[]): Set<string> {
  const packages = new Set<string>();
  const seen = new Map<string, boolean>();
  const queue = [...entries];
  while (queue.length > 0) {
    const { file, followDynamic } = queue.shift()!;
    if (seen.get(file) === true || (seen.has(file) && !followDynamic)) continue;
    seen.set(file, followDynamic);
    const code = readFileSync(file, 'utf8');
    const specifiers = [...code.matchAll(STATIC_REQUIRE)].map((m) => m[1]!);
    if (followDynamic) specifiers.push(...[...code.matchAll(DYNAMIC_IMPORT)].map((m) => m[1]!));
    for (const spec of specifiers) {
      if (spec.startsWith('node:') || BUILTINS.has(spec)) continue;
      if (spec.startsWith('.')) {
        const target = resolveRelative(file, spec);
        if (!target) throw new Error(`${file}: cannot resolve '${spec}'`);
        queue.push({ file: target, followDynamic });
      } else {
        packages.add(packageName(spec));
      }
    }
  }
  return packages;
}

/** The lockfile paths (`node_modules/…`) of the packages and their production dependency closure. */
export function dependencyClosure(root: string, roots: Iterable<string>): string[] {
  const lock = JSON.parse(readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockPackage> };
  const packages = lock.packages;
  const excluded = (name: string): boolean => EXCLUDED.some((re) => re.test(name));
  const resolveFrom = (fromPath: string, name: string): string | null => {
    // Node's lookup: <from>/node_modules/<name>, then each ancestor's node_modules, then the top level.
    let dir = fromPath;
    for (;;) {
      const candidate = dir ? `${dir}/node_modules/${name}` : `node_modules/${name}`;
      if (packages[candidate] && existsSync(path.join(root, candidate))) return candidate;
      if (!dir) return null;
      const idx = dir.lastIndexOf('/node_modules/');
      dir = idx < 0 ? '' : dir.slice(0, idx);
    }
  };
  const out = new Set<string>();
  const queue: { from: string; name: string; optional: boolean }[] = [...roots].map((name) => ({ from: '', name, optional: false }));
  while (queue.length > 0) {
    const { from, name, optional } = queue.shift()!;
    if (excluded(name)) continue;
    const at = resolveFrom(from, name);
    if (!at) {
      if (optional) continue;
      throw new Error(`package '${name}' (needed by ${from || 'the server'}) is not installed; run npm ci`);
    }
    if (out.has(at)) continue;
    out.add(at);
    const pkg = packages[at]!;
    for (const dep of Object.keys(pkg.dependencies ?? {})) queue.push({ from: at, name: dep, optional: false });
    for (const dep of Object.keys(pkg.optionalDependencies ?? {})) queue.push({ from: at, name: dep, optional: true });
    for (const dep of Object.keys(pkg.peerDependencies ?? {})) {
      // Peers are provided by whoever depends on this package; when none does, npm installs none and nothing is needed.
      queue.push({ from: at, name: dep, optional: true });
    }
  }
  return [...out].sort();
}

function pruneTree(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) pruneTree(full);
    else if (/\.(d\.ts|d\.mts|d\.cts|map)$/.test(entry.name)) rmSync(full);
  }
}

/** Keeps only onnxruntime-node's binaries for the image platform. */
function pruneOnnxRuntime(modules: string): void {
  const bin = path.join(modules, 'onnxruntime-node', 'bin');
  if (!existsSync(bin)) return;
  for (const napi of readdirSync(bin)) {
    for (const osName of readdirSync(path.join(bin, napi))) {
      const osDir = path.join(bin, napi, osName);
      if (osName !== ORT_PLATFORM.os) {
        rmSync(osDir, { recursive: true, force: true });
        continue;
      }
      for (const arch of readdirSync(osDir)) if (arch !== ORT_PLATFORM.arch) rmSync(path.join(osDir, arch), { recursive: true, force: true });
    }
  }
  if (!existsSync(path.join(bin, readdirSync(bin)[0] ?? '', ORT_PLATFORM.os, ORT_PLATFORM.arch))) {
    throw new Error(`onnxruntime-node has no ${ORT_PLATFORM.os}/${ORT_PLATFORM.arch} binaries`);
  }
}

function sizeOf(p: string): number {
  const st = statSync(p);
  if (!st.isDirectory()) return st.size;
  let total = 0;
  for (const e of readdirSync(p)) total += sizeOf(path.join(p, e));
  return total;
}

export interface AssembleResult {
  out: string;
  packages: string[];
  sizeBytes: number;
  largest: { path: string; mb: number }[];
}

export function assembleRuntime(out: string): AssembleResult {
  const root = findRepoRoot();
  const dist = path.join(root, 'dist');
  const cli = path.join(dist, 'jobs', 'cli.js');
  const main = path.join(dist, 'serving', 'main.js');
  if (!existsSync(cli) || !existsSync(main)) throw new Error('dist/ is missing or incomplete: run `npm run build` first');
  const roots = reachablePackages([
    { file: cli, followDynamic: false },
    { file: main, followDynamic: true },
  ]);
  const packages = dependencyClosure(root, roots);
  mkdirSync(out, { recursive: true });
  for (const sub of ['core', 'serving', 'jobs']) {
    cpSync(path.join(dist, sub), path.join(out, 'dist', sub), { recursive: true, filter: (src) => !src.endsWith('.map') });
  }
  cpSync(path.join(root, 'package.json'), path.join(out, 'package.json'));
  for (const p of packages) {
    const src = path.join(root, p);
    cpSync(src, path.join(out, p), { recursive: true, filter: (s) => s === src || !path.relative(src, s).split(path.sep).includes('node_modules') });
  }
  const modules = path.join(out, 'node_modules');
  pruneOnnxRuntime(modules);
  pruneTree(modules);
  const top = readdirSync(modules).flatMap((n) => (n.startsWith('@') ? readdirSync(path.join(modules, n)).map((m) => `${n}/${m}`) : [n]));
  const largest = top
    .map((n) => ({ path: n, mb: sizeOf(path.join(modules, n)) / 1e6 }))
    .sort((a, b) => b.mb - a.mb)
    .slice(0, 6)
    .map((x) => ({ path: x.path, mb: Number(x.mb.toFixed(1)) }));
  return { out, packages, sizeBytes: sizeOf(out), largest };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (a && typeof a === 'object' ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

/** Starts the server from the assembled tree against a freshly trained registry; resolves with timings. */
async function checkRuntime(out: string): Promise<{ healthMs: number; prediction: number; exitCode: number | null }> {
  const work = mkdtempSync(path.join(os.tmpdir(), 'mlops-runtime-check-'));
  try {
    const registry = path.join(work, 'registry');
    mkdirSync(registry);
    const { runTrain } = await import('../../jobs/train.js');
    await runTrain({ data: 'synthetic', registry, alias: 'champion', seed: 7, params: { nEstimators: 20, maxDepth: 4 } });
    const port = await freePort();
    const t0 = performance.now();
    const child = spawn(process.execPath, ['dist/jobs/cli.js', 'serve', '--registry', registry, '--host', '127.0.0.1', '--port', String(port), '--logs', path.join(work, 'logs')], {
      cwd: out,
      env: { PATH: process.env.PATH ?? '', HOME: work, MLOPS_LOG_SPILL_DIR: path.join(work, 'spill'), MLOPS_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      let healthMs = -1;
      while (healthMs < 0) {
        if (child.exitCode !== null) throw new Error(`the server exited with code ${child.exitCode} before /health answered`);
        const status = await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.status, () => 0);
        if (status === 200) healthMs = performance.now() - t0;
        else if (performance.now() - t0 > 60_000) throw new Error('/health did not return 200 within 60 s');
        else await new Promise((r) => setTimeout(r, 20));
      }
      const res = await fetch(`http://127.0.0.1:${port}/invocations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ inputs: [[2015, 47_000_000, 1.6e12, 1500, 1200, 250]] }),
      });
      const body = (await res.json()) as { predictions?: number[] };
      if (res.status !== 200 || typeof body.predictions?.[0] !== 'number') throw new Error(`/invocations answered ${res.status}: ${JSON.stringify(body)}`);
      child.kill('SIGTERM');
      return { healthMs, prediction: body.predictions[0], exitCode: await exited };
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  let out: string | null = null;
  let check = true;
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--out') out = path.resolve(argv[++i] ?? '');
    else if (argv[i] === '--no-check') check = false;
    else if (argv[i] === '--json') json = true;
    else throw new Error(`unknown argument ${argv[i]}; usage: assembleRuntime [--out <dir>] [--no-check] [--json]`);
  }
  const temporary = out === null;
  const target = out ?? path.join(mkdtempSync(path.join(os.tmpdir(), 'mlops-runtime-')), 'app');
  try {
    const result = assembleRuntime(target);
    const mb = result.sizeBytes / 1e6;
    const checked = check ? await checkRuntime(target) : null;
    const report = {
      out: temporary ? '(temporary, removed)' : target,
      sizeMB: Number(mb.toFixed(1)),
      goalMB: SIZE_GOAL_MB,
      withinGoal: mb <= SIZE_GOAL_MB,
      packages: result.packages.length,
      excluded: EXCLUDED.map(String),
      largest: result.largest,
      check: checked && { health: 200, healthAfterMs: Math.round(checked.healthMs), prediction: checked.prediction, sigtermExitCode: checked.exitCode },
    };
    if (json) process.stdout.write(JSON.stringify(report) + '\n');
    else {
      console.log(`runtime tree: ${report.sizeMB} MB (goal ≤ ${SIZE_GOAL_MB} MB: ${report.withinGoal ? 'ok' : 'MISSED'}), ${report.packages} packages`);
      console.log(`largest: ${report.largest.map((l) => `${l.path} ${l.mb} MB`).join(', ')}`);
      if (checked) console.log(`started from the tree: /health 200 after ${Math.round(checked.healthMs)} ms, prediction ${checked.prediction}, SIGTERM exit code ${checked.exitCode}`);
    }
    if (!report.withinGoal || (checked && checked.exitCode !== 0)) process.exitCode = 1;
  } finally {
    if (temporary) rmSync(path.dirname(target), { recursive: true, force: true });
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`assembleRuntime: ${(err as Error).message}\n`);
    process.exitCode = 1;
  });
}
