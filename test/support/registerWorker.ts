/**
 * Child process for the multi-process registry test: registers `count` versions of `model` in the registry at
 * `uri` concurrently and prints the allocated versions as one JSON line.
 * Usage: tsx test/support/registerWorker.ts <uri> <model> <count> <label>
 */
import { ModelRegistry } from '../../core/registry';
import { sampleInput } from './registryFixtures';

async function main(): Promise<void> {
  const [uri, model, countText, label] = process.argv.slice(2);
  if (!uri || !model || !countText || !label) throw new Error('usage: registerWorker <uri> <model> <count> <label>');
  const registry = ModelRegistry.open(uri);
  const results = await Promise.all(
    Array.from({ length: Number(countText) }, (_, i) => registry.register(model, sampleInput(model, `${label}-${i}`))),
  );
  process.stdout.write(JSON.stringify(results.map((r) => ({ version: r.version, label: r.card.params.label }))) + '\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
