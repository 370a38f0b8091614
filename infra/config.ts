// Reads the current stack's configuration through the Pulumi runtime: the validated settings (infra/settings.ts)
// plus the secrets, which only ever exist as secret Outputs.
import * as pulumi from '@pulumi/pulumi';
import { ConfigError, OBJECT_KEYS, parseSettings, PROJECT, SECRET_KEYS, type MlopsSettings, type SecretKey } from './settings';

export * from './settings';

const show = (value: unknown): string => (typeof value === 'string' ? `"${value}"` : JSON.stringify(value));

/** Validated settings plus the secret values, which only ever exist as secret Outputs. */
export interface MlopsConfig extends MlopsSettings {
  readonly stack: string;
  readonly secrets: Readonly<Record<SecretKey, pulumi.Output<string>>>;
}

function isComplete(secrets: Partial<Record<SecretKey, pulumi.Output<string>>>): secrets is Record<SecretKey, pulumi.Output<string>> {
  return SECRET_KEYS.every((key) => secrets[key] !== undefined);
}

/** Reads the current stack's configuration through the Pulumi runtime and validates it. */
export function loadConfig(): MlopsConfig {
  const config = new pulumi.Config(PROJECT);
  const raw: Record<string, unknown> = {
    location: new pulumi.Config('azure-native').get('location'),
    environment: config.get('environment'),
  };
  const problems: string[] = [];
  for (const key of OBJECT_KEYS) {
    try {
      raw[key] = config.getObject<unknown>(key);
    } catch {
      problems.push(`${key}: expected an object (YAML map), got ${show(config.get(key))}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const settings = parseSettings(raw);
  const secrets: Partial<Record<SecretKey, pulumi.Output<string>>> = {};
  for (const key of SECRET_KEYS) {
    const value = config.getSecret(key);
    if (value === undefined) problems.push(`${key}: required secret, got nothing; run pulumi config set --secret ${key} <value>`);
    else secrets[key] = value;
  }
  if (problems.length > 0 || !isComplete(secrets)) throw new ConfigError(problems);
  // The value stays hidden: the check runs inside the secret Output and its message never echoes it.
  const alertWebhookUrl = secrets.alertWebhookUrl.apply((url) => {
    if (!/^https:\/\/[^\s/]+/.test(url)) throw new ConfigError(['alertWebhookUrl: must be an https:// URL (value not shown because it is secret)']);
    return url;
  });
  return { ...settings, stack: pulumi.getStack(), secrets: { ...secrets, alertWebhookUrl } };
}
