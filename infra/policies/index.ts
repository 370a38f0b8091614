// Policy pack for this project: `pulumi preview --policy-pack infra/policies`. The rules live in
// rules.ts as pure functions; this module only registers them with @pulumi/policy.
import { PolicyPack, type ResourceValidationPolicy, type StackValidationPolicy } from '@pulumi/policy';
import { noSecretOutputs, RESOURCE_RULES, TYPES } from './rules';

const resourcePolicies: ResourceValidationPolicy[] = Object.entries(RESOURCE_RULES).map(([name, { description, rule }]) => ({
  name,
  description,
  enforcementLevel: 'mandatory',
  validateResource: (args, reportViolation) => rule({ type: args.type, props: args.props }, (message) => reportViolation(message)),
}));

const outputsPolicy: StackValidationPolicy = {
  name: 'no-plaintext-secret-outputs',
  description: 'Stack outputs carry secret names and URIs, never credential values.',
  enforcementLevel: 'mandatory',
  validateStack: (args, reportViolation) => {
    const stack = args.resources.find((resource) => resource.type === TYPES.stack);
    if (stack !== undefined) noSecretOutputs(stack.props, (message) => reportViolation(message, stack.urn));
  },
};

new PolicyPack('renewable-energy-mlops', {
  policies: [...resourcePolicies, outputsPolicy],
});
