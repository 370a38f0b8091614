import { UserError } from '../core/errors';

/** Exit codes shared by every command (documented in the README). */
export const EXIT = {
  ok: 0,
  /** A bug or an unexpected failure (a stack trace is printed). */
  internal: 1,
  /** Bad input, bad configuration or an unreachable dependency (one readable line is printed). */
  usage: 2,
  /** The command ran but its outcome is a failure by policy (e.g. reject share above the limit). */
  policy: 3,
} as const;

/** A failure by policy: the command did its work but the result must fail the job (exit code 3). */
export class PolicyFailure extends Error {
  override readonly name = 'PolicyFailure';
  constructor(
    message: string,
    readonly result: unknown,
  ) {
    super(message);
  }
}

export interface CommandOutput<T> {
  result: T;
  /** Lines for people; `--json` prints `result` as one JSON object instead. */
  human: (result: T) => string[];
}

/**
 * Runs a command body with the CLI contract: `--json` prints exactly one JSON object on stdout, human output
 * otherwise; a UserError is one line on stderr (exit 2), a PolicyFailure prints its result and exits 3, anything
 * else is a bug (stack trace, exit 1).
 */
export async function runCommand<T>(name: string, json: boolean | undefined, body: () => Promise<CommandOutput<T>>): Promise<void> {
  try {
    const { result, human } = await body();
    if (json) process.stdout.write(JSON.stringify(result) + '\n');
    else for (const line of human(result)) process.stdout.write(line + '\n');
    process.exitCode = EXIT.ok;
  } catch (err) {
    if (err instanceof PolicyFailure) {
      if (json) process.stdout.write(JSON.stringify(err.result) + '\n');
      process.stderr.write(`mlops ${name}: ${err.message}\n`);
      process.exitCode = EXIT.policy;
      return;
    }
    const userError = err instanceof UserError;
    const message = (err as Error)?.message ?? String(err);
    if (json) process.stdout.write(JSON.stringify({ ok: false, command: name, error: message }) + '\n');
    process.stderr.write(`mlops ${name}: error: ${oneLine(message)}\n`);
    if (!userError) process.stderr.write(`${(err as Error)?.stack ?? ''}\n`);
    process.exitCode = userError ? EXIT.usage : EXIT.internal;
  }
}

function oneLine(message: string): string {
  return message.replace(/\s*\n\s*/g, ' ');
}

/** Parses an integer flag; a bad value is a UserError naming the flag. */
export function intOption(flag: string, min?: number, max?: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || (min !== undefined && n < min) || (max !== undefined && n > max)) {
      const range = min !== undefined && max !== undefined ? ` between ${min} and ${max}` : min !== undefined ? ` ≥ ${min}` : '';
      throw new UserError(`${flag} must be an integer${range}, got '${value}'`);
    }
    return n;
  };
}

/** Parses a number flag; a bad value is a UserError naming the flag. */
export function numberOption(flag: string, min?: number, max?: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || (min !== undefined && n < min) || (max !== undefined && n > max)) {
      const range = min !== undefined && max !== undefined ? ` between ${min} and ${max}` : min !== undefined ? ` ≥ ${min}` : '';
      throw new UserError(`${flag} must be a number${range}, got '${value}'`);
    }
    return n;
  };
}

/** Collects repeated `--tag key=value` flags into a record. */
export function tagOption(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new UserError(`--tag must look like key=value, got '${value}'`);
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
}
