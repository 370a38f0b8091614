// Offline plan: `npm run plan -- <stack> [--json] [--diff <previous plan>] [--normalize]`.
// Runs the Pulumi program on the mock engine with Pulumi.<stack>.yaml and prints every resource it
// would declare (type, name, inputs; secrets masked). One stack per process: the program module is
// evaluated once, exactly as `pulumi preview` would.
import { readFileSync } from 'node:fs';
import { runProgram } from './mockEngine';
import { buildPlan, diffPlans, formatDiff, formatPlan, parsePlan } from './planFormat';

const USAGE = 'usage: npm run plan -- <stack> [--json] [--diff <previous plan file>] [--normalize]';

interface Options {
  readonly stack: string;
  readonly json: boolean;
  readonly diff?: string;
  readonly normalize: boolean;
}

function parseArgs(argv: readonly string[]): Options {
  let stack: string | undefined;
  let json = false;
  let normalize = false;
  let diff: string | undefined;
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    if (arg === '--json') json = true;
    else if (arg === '--normalize') normalize = true;
    else if (arg === '--diff') {
      diff = argv[i + 1];
      i += 1;
      if (diff === undefined) throw new Error(`--diff needs a plan file\n${USAGE}`);
    } else if (arg === '--help' || arg === '-h') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else if (arg?.startsWith('-')) throw new Error(`unknown option ${arg}\n${USAGE}`);
    else if (stack === undefined) stack = arg;
    else throw new Error(`unexpected argument ${arg}\n${USAGE}`);
  }
  if (stack === undefined) throw new Error(USAGE);
  return { stack, json, normalize, ...(diff !== undefined ? { diff } : {}) };
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const run = await runProgram(options.stack);
  const plan = buildPlan(options.stack, run.mocks.resources, run.outputs, run.secretOutputs, run.config.placeholders, { normalizeContent: options.normalize });
  if (options.diff !== undefined) {
    const previous = parsePlan(readFileSync(options.diff, 'utf8'));
    const diff = diffPlans(previous, plan);
    process.stdout.write(options.json ? `${JSON.stringify(diff, null, 2)}\n` : formatDiff(diff, `${previous.stack} (${options.diff})`, options.stack));
  } else {
    process.stdout.write(options.json ? `${JSON.stringify(plan, null, 2)}\n` : formatPlan(plan));
  }
  // process.uptime() includes loading the SDKs and compiling the program, i.e. the whole wait.
  process.stderr.write(`plan of ${options.stack}: ${plan.resources.length} resources in ${process.uptime().toFixed(2)} s\n`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
