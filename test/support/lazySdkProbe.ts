/**
 * Child process for the lazy-loading test: uses local storage through `openStorage`, reports whether any Azure SDK
 * module got loaded, then touches an Azure URI (which must load it) and reports again.
 * Usage: tsx test/support/lazySdkProbe.ts <local dir>
 */
import { openStorage } from '../../core/storage/index';

function azureModulesLoaded(): number {
  return Object.keys(require.cache).filter((file) => file.includes(`${'@azure'}`)).length;
}

async function main(): Promise<void> {
  const dir = process.argv[2];
  if (!dir) throw new Error('usage: lazySdkProbe <local dir>');
  const local = openStorage(dir);
  await local.put('probe/x.json', '{}');
  await local.get('probe/x.json');
  await local.list('');
  const afterLocal = azureModulesLoaded();
  // An unreachable emulator URI: the first call has to load the SDK before it can fail.
  process.env.AZURE_STORAGE_CONNECTION_STRING =
    'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=' +
    Buffer.from('not a real key').toString('base64') +
    ';BlobEndpoint=http://127.0.0.1:9/devstoreaccount1;';
  const remote = openStorage('http://127.0.0.1:9/devstoreaccount1/probe');
  const afterOpen = azureModulesLoaded();
  await remote.exists('x').catch(() => undefined);
  const afterRemote = azureModulesLoaded();
  process.stdout.write(JSON.stringify({ afterLocal, afterOpen, afterRemote }) + '\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
