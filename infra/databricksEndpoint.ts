// Serving on Databricks Model Serving (`serving.target: databricks`): one served entity per routed
// registry alias of the Unity Catalog model, versions resolved from the UC aliases at deploy time.
import * as pulumi from '@pulumi/pulumi';
import * as databricks from '@pulumi/databricks';

export interface DatabricksEndpointArgs {
  readonly endpointName: string;
  readonly host: string;
  readonly catalog: string;
  readonly schema: string;
  readonly model: string;
  readonly routes: Readonly<Record<string, number>>;
  readonly workloadSize: string;
  readonly workloadType: string;
  readonly scaleToZero: boolean;
  readonly scaleToZeroOverride: boolean;
  readonly rateLimitCallsPerMinute: number;
  readonly inferenceTables: boolean;
  readonly clientGroup: string;
  readonly adminGroup: string;
  readonly notificationEmails: readonly string[];
  readonly environment: string;
  readonly tags: Record<string, string>;
  readonly provider: databricks.Provider;
}

/** Maps each routed alias to the model version it currently points at, failing with the missing ones. */
export function resolveAliasVersions(
  fullName: string,
  routedAliases: readonly string[],
  modelInfos: readonly { aliases?: { aliasName?: string; versionNum?: number }[] }[],
): Record<string, string> {
  const known = new Map<string, number>();
  for (const info of modelInfos) {
    for (const entry of info.aliases ?? []) {
      if (entry.aliasName !== undefined && entry.versionNum !== undefined) known.set(entry.aliasName, entry.versionNum);
    }
  }
  const missing = routedAliases.filter((alias) => !known.has(alias));
  if (missing.length > 0) {
    const present = [...known].map(([alias, version]) => `${alias}=${version}`).join(', ') || 'none';
    throw new Error(`serving.routes: alias ${missing.map((a) => `"${a}"`).join(', ')} not set on ${fullName} (aliases: ${present}); register and alias a version first`);
  }
  return Object.fromEntries(routedAliases.map((alias) => [alias, String(known.get(alias))]));
}

export class DatabricksEndpoint extends pulumi.ComponentResource {
  readonly endpoint: databricks.ModelServing;
  readonly endpointUrl: pulumi.Output<string>;
  readonly invocationsUrl: pulumi.Output<string>;
  readonly versions: pulumi.Output<Record<string, string>>;

  constructor(name: string, args: DatabricksEndpointArgs, opts?: pulumi.ComponentResourceOptions) {
    super('mlops:serving:DatabricksEndpoint', name, {}, opts);
    const child = { parent: this, provider: args.provider };
    const fullName = `${args.catalog}.${args.schema}.${args.model}`;
    const aliases = Object.keys(args.routes);

    const registered = databricks.getRegisteredModelOutput({ fullName, includeAliases: true }, child);
    this.versions = registered.apply((model) => resolveAliasVersions(fullName, aliases, model.modelInfos));

    const servedEntities = this.versions.apply((versions) => aliases.map((alias) => ({
      name: alias,
      entityName: fullName,
      entityVersion: versions[alias] ?? '',
      workloadSize: args.workloadSize,
      workloadType: args.workloadType,
      // Always sent explicitly: omitting it lets the provider default it to true.
      scaleToZeroEnabled: args.scaleToZero,
    })));

    const tags = {
      ...args.tags,
      model: fullName,
      ...(args.scaleToZeroOverride ? { 'allow-scale-to-zero': 'true' } : {}),
    };

    this.endpoint = new databricks.ModelServing(`${name}-endpoint`, {
      name: args.endpointName,
      config: {
        servedEntities,
        trafficConfig: {
          routes: aliases.map((alias) => ({ servedEntityName: alias, trafficPercentage: args.routes[alias] ?? 0 })),
        },
      },
      aiGateway: {
        inferenceTableConfig: {
          enabled: args.inferenceTables,
          catalogName: args.catalog,
          schemaName: args.schema,
          tableNamePrefix: args.endpointName.replace(/-/g, '_'),
        },
        rateLimits: [{ calls: args.rateLimitCallsPerMinute, key: 'endpoint', renewalPeriod: 'minute' }],
        usageTrackingConfig: { enabled: true },
      },
      emailNotifications: args.notificationEmails.length > 0 ? { onUpdateFailures: [...args.notificationEmails] } : undefined,
      tags: Object.entries(tags).sort(([a], [b]) => a.localeCompare(b)).map(([key, value]) => ({ key, value })),
    }, {
      ...child,
      // The endpoint name is unique per workspace and a rename replaces it.
      deleteBeforeReplace: true,
      // Provisioning regularly takes tens of minutes; the provider deletes endpoints whose create times out.
      customTimeouts: { create: '60m', update: '60m', delete: '20m' },
    });

    new databricks.Permissions(`${name}-permissions`, {
      servingEndpointId: this.endpoint.servingEndpointId,
      accessControls: [
        { groupName: args.clientGroup, permissionLevel: 'CAN_QUERY' },
        { groupName: args.adminGroup, permissionLevel: 'CAN_MANAGE' },
      ],
    }, child);

    this.endpointUrl = pulumi.output(`${args.host}/serving-endpoints/${args.endpointName}`);
    this.invocationsUrl = pulumi.output(`${args.host}/serving-endpoints/${args.endpointName}/invocations`);

    this.registerOutputs({ endpointUrl: this.endpointUrl, invocationsUrl: this.invocationsUrl, versions: this.versions });
  }
}
