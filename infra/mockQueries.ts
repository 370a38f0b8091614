// Queries over a mock-engine run, shared by the infra tests.
import * as pulumi from '@pulumi/pulumi';
import { isSecretMarker, type MockRun, type RecordedResource } from './mockEngine';
import { noSecretOutputs, RESOURCE_RULES } from './policies/rules';

export function resourcesOf(run: MockRun, type: string): RecordedResource[] {
  return run.mocks.resources.filter((resource) => resource.type === type);
}

export function resourceNamed(run: MockRun, type: string, name: string): RecordedResource {
  const found = run.mocks.resources.find((resource) => resource.type === type && resource.name === name);
  if (found === undefined) {
    const names = resourcesOf(run, type).map((r) => r.name).join(', ') || 'none';
    throw new Error(`no ${type} named ${name} (have: ${names})`);
  }
  return found;
}

/** Every string reachable from `value` outside secret markers, with its path. */
export function plainStrings(value: unknown, path = ''): { path: string; value: string }[] {
  if (isSecretMarker(value)) return [];
  if (typeof value === 'string') return [{ path, value }];
  if (Array.isArray(value)) return value.flatMap((item, index) => plainStrings(item, `${path}[${index}]`));
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).flatMap(([key, item]) => plainStrings(item, path ? `${path}.${key}` : key));
  }
  return [];
}

/** Every string inside secret markers. */
export function secretStrings(value: unknown, inside = false): string[] {
  if (isSecretMarker(value)) return secretStrings(value.value, true);
  if (typeof value === 'string') return inside ? [value] : [];
  if (Array.isArray(value)) return value.flatMap((item) => secretStrings(item, inside));
  if (value !== null && typeof value === 'object') return Object.values(value).flatMap((item) => secretStrings(item, inside));
  return [];
}

/** Runs every policy rule over the recorded resources (inputs stand in for props) and the outputs. */
export function policyViolations(run: MockRun): string[] {
  const violations: string[] = [];
  for (const resource of run.mocks.resources) {
    for (const [policy, { rule }] of Object.entries(RESOURCE_RULES)) {
      rule({ type: resource.type, props: resource.inputs }, (message) => violations.push(`${policy} ${resource.type} ${resource.name}: ${message}`));
    }
  }
  noSecretOutputs(run.outputs, (message) => violations.push(message), (name) => run.secretOutputs.includes(name));
  return violations;
}

/** URNs the mock monitor registered, to check component parenting. */
export function registeredUrns(): string[] {
  const monitor = pulumi.runtime.getMonitor() as unknown as { resources?: Map<string, unknown> } | undefined;
  return [...(monitor?.resources?.keys() ?? [])];
}
