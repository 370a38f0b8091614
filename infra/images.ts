// Container registry and the two images built from this repository. Tags are a hash of the sources
// that go into each image, so an unchanged tree previews as "no changes" and any edit rolls out.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import * as authorization from '@pulumi/azure-native/authorization';
import * as containerregistry from '@pulumi/azure-native/containerregistry';
import * as docker from '@pulumi/docker';
import { roleDefinitionId } from './roles';

/** Directory holding Pulumi.yaml; build contexts are given relative to it (absolute paths cause phantom diffs). */
export const PROJECT_ROOT = path.resolve(__dirname, '..');

const SKIPPED_DIRECTORIES = new Set(['node_modules', 'dist', '__snapshots__', '.mlops', 'coverage']);

/** Sources hashed into each image tag; shared code and the lock file affect both. */
export const IMAGE_SOURCES = {
  // Both images compile core/, serving/, jobs/ and the stack-settings schema (the CLI entry is jobs/cli.ts).
  serving: ['serving', 'jobs', 'core', 'infra/settings.ts', 'infra/cron.ts', 'package.json', 'package-lock.json', '.npmrc', 'tsconfig.json', 'tsconfig.build.json'],
  jobs: ['jobs', 'serving', 'core', 'infra/settings.ts', 'infra/cron.ts', 'package.json', 'package-lock.json', '.npmrc', 'tsconfig.json', 'tsconfig.build.json'],
} as const;
export type ImageName = keyof typeof IMAGE_SOURCES;

function collectFiles(root: string, relative: string, into: string[]): void {
  const absolute = path.join(root, relative);
  if (!existsSync(absolute)) return;
  if (statSync(absolute).isDirectory()) {
    for (const entry of readdirSync(absolute).sort()) {
      if (SKIPPED_DIRECTORIES.has(entry)) continue;
      collectFiles(root, path.posix.join(relative, entry), into);
    }
    return;
  }
  into.push(relative);
}

/** `src-<12 hex>` over the relative paths and contents of the given sources (missing ones are skipped). */
export function contentTag(sources: readonly string[], root: string = PROJECT_ROOT): string {
  const files: string[] = [];
  for (const source of sources) collectFiles(root, source, files);
  const hash = createHash('sha256');
  for (const file of files) {
    hash.update(file).update('\0').update(readFileSync(path.join(root, file))).update('\0');
  }
  return `src-${hash.digest('hex').slice(0, 12)}`;
}

export interface ImagesArgs {
  readonly location: string;
  readonly resourceGroupName: pulumi.Input<string>;
  readonly registryName: string;
  readonly sku: string;
  readonly subscriptionId: pulumi.Input<string>;
  readonly pushPrincipal: { readonly clientId: string; readonly objectId: string };
  readonly pushClientSecret: pulumi.Output<string>;
  /** Fixed tag for both images (e.g. a release or commit id); otherwise each gets its content hash. */
  readonly tag?: string;
  readonly platform: string;
  /** The serving image is only needed when serving runs on Container Apps. */
  readonly buildServing: boolean;
  readonly tags: Record<string, string>;
}

export class Images extends pulumi.ComponentResource {
  readonly registry: containerregistry.Registry;
  readonly loginServer: pulumi.Output<string>;
  readonly serving?: docker.Image;
  readonly jobs: docker.Image;
  /** `<registry>/<repository>:<tag>` per image, as deployed. */
  readonly refs: Readonly<Partial<Record<ImageName, pulumi.Output<string>>>>;

  constructor(name: string, args: ImagesArgs, opts?: pulumi.ComponentResourceOptions) {
    super('mlops:images:Images', name, {}, opts);
    const child = { parent: this };

    this.registry = new containerregistry.Registry(`${name}-registry`, {
      registryName: args.registryName,
      resourceGroupName: args.resourceGroupName,
      location: args.location,
      sku: { name: args.sku },
      // Pulls use managed identities or the jobs principal, pushes the deploy principal: no shared admin user.
      adminUserEnabled: false,
      anonymousPullEnabled: false,
      tags: args.tags,
    }, child);
    this.loginServer = this.registry.loginServer;

    const pushRole = new authorization.RoleAssignment(`${name}-push`, {
      principalId: args.pushPrincipal.objectId,
      principalType: 'ServicePrincipal',
      roleDefinitionId: roleDefinitionId(args.subscriptionId, 'acrPush'),
      scope: this.registry.id,
      description: 'Deploy principal pushes the serving and jobs images',
    }, child);

    const build = (image: ImageName): docker.Image => {
      const tag = args.tag ?? contentTag(IMAGE_SOURCES[image]);
      return new docker.Image(`${name}-${image}`, {
        imageName: pulumi.interpolate`${this.loginServer}/renewable-energy-${image}:${tag}`,
        build: {
          context: '.',
          dockerfile: `${image}/Dockerfile`,
          platform: args.platform,
        },
        registry: {
          server: this.loginServer,
          username: args.pushPrincipal.clientId,
          password: args.pushClientSecret,
        },
      }, { ...child, dependsOn: [pushRole] });
    };

    this.jobs = build('jobs');
    const refs: Partial<Record<ImageName, pulumi.Output<string>>> = { jobs: this.jobs.imageName };
    if (args.buildServing) {
      this.serving = build('serving');
      refs.serving = this.serving.imageName;
    }
    this.refs = refs;

    this.registerOutputs({ loginServer: this.loginServer, refs: this.refs });
  }
}
