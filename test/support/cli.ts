import { spawn, type ChildProcessByStdio } from 'node:child_process';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { REPO_ROOT } from './paths';

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

const TSX = path.join(REPO_ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');
const CLI = path.join(REPO_ROOT, 'jobs', 'cli.ts');

/** Starts the real CLI (`tsx jobs/cli.ts …`, as `npm run mlops --` does) as a child process. */
export function spawnMlops(args: string[], env: NodeJS.ProcessEnv = {}): ChildProcessByStdio<null, Readable, Readable> {
  return spawn(process.execPath, [TSX, CLI, ...args], { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Runs the real CLI to completion and collects its exit code and output. */
export function runMlops(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawnMlops(args, env);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
