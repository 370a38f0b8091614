/**
 * The model registry: immutable numbered versions plus mutable aliases and tags, on any Storage.
 *
 * Layout under the storage root:
 *   <model>/versions/<n>/claim.json       the allocation of number n (exclusive create; never reused)
 *   <model>/versions/<n>/model.onnx
 *   <model>/versions/<n>/reference.json   the reference profile for drift monitoring
 *   <model>/versions/<n>/card.md
 *   <model>/versions/<n>/tags.json        mutable tags (If-Match read-modify-write)
 *   <model>/versions/<n>/card.json        written last: a version exists once its card exists
 *   <model>/aliases.json                  {"champion": 3, "challenger": 4}
 *
 * Concurrency comes only from the storage's conditional writes, so it holds across processes and machines:
 * version numbers are claimed with If-None-Match '*', aliases and tags are updated with If-Match compare-and-swap.
 * A registration that crashes after its claim leaves an orphan number that is skipped forever.
 */
import os from 'node:os';
import type { ModelCard } from './card';
import { NotFoundError, PreconditionFailedError, UserError } from './errors';
import { openStorage, type Storage } from './storage/index';

const MODEL_NAME = /^[A-Za-z0-9_.-]+$/;
const ALIAS_NAME = /^[a-z][a-z0-9_-]*$/;
const VERSION_DIR = /^[1-9][0-9]*$/;
/** Not an alias: `resolve(model, 'latest')` means the highest complete version. */
const LATEST = 'latest';

export interface RegisterInput {
  onnx: Uint8Array;
  card: Omit<ModelCard, 'version'>;
  /** JSON-serialisable reference profile (written to reference.json). */
  reference: unknown;
  /** Renders card.md from the final card (which carries the allocated version). */
  cardMarkdown: (card: ModelCard) => string;
  /** Merged over `card.tags`; also the initial content of tags.json. */
  tags?: Record<string, string>;
}

export interface ModelRegistryOptions {
  /** Attempts of one compare-and-swap update (aliases, tags) before giving up; default 64. */
  maxAttempts?: number;
}

export type Aliases = Record<string, number>;

export class ModelRegistry {
  readonly uri: string;
  private readonly maxAttempts: number;

  constructor(
    readonly storage: Storage,
    options: ModelRegistryOptions = {},
  ) {
    this.uri = storage.uri;
    this.maxAttempts = options.maxAttempts ?? 64;
  }

  static open(uri: string, options: ModelRegistryOptions = {}): ModelRegistry {
    return new ModelRegistry(openStorage(uri), options);
  }

  /** Fails with a one-line UserError naming the URI when the registry storage is unreachable or missing. */
  check(): Promise<void> {
    return this.storage.check();
  }

  async register(model: string, input: RegisterInput): Promise<{ version: number; card: ModelCard }> {
    validateModelName(model);
    if (!(input.onnx instanceof Uint8Array) || input.onnx.length === 0) {
      throw new UserError(`cannot register model '${model}': the ONNX model is empty`);
    }
    if (typeof input.card !== 'object' || input.card === null) {
      throw new UserError(`cannot register model '${model}': no model card`);
    }
    if (input.card.name !== model) {
      throw new UserError(`cannot register model '${model}': its card is named '${String(input.card.name)}'`);
    }
    const tags = { ...(input.card.tags ?? {}), ...(input.tags ?? {}) };
    validateTags(tags, `cannot register model '${model}'`);
    let referenceJson: string | undefined;
    try {
      referenceJson = JSON.stringify(input.reference, null, 2);
    } catch (err) {
      throw new UserError(`cannot register model '${model}': reference profile is not JSON-serialisable (${(err as Error).message})`);
    }
    if (referenceJson === undefined) {
      throw new UserError(`cannot register model '${model}': reference profile is not JSON-serialisable`);
    }

    const version = await this.claimVersion(model);
    const card: ModelCard = { ...input.card, name: model, version, tags };
    const dir = versionDir(model, version);
    const onnx = Buffer.from(input.onnx.buffer, input.onnx.byteOffset, input.onnx.byteLength);
    const markdown = input.cardMarkdown(card);
    await Promise.all([
      this.storage.put(`${dir}/model.onnx`, onnx, { contentType: 'application/octet-stream' }),
      this.storage.put(`${dir}/reference.json`, referenceJson + '\n'),
      this.storage.put(`${dir}/card.md`, markdown),
      this.storage.put(`${dir}/tags.json`, toJson(tags)),
    ]);
    // The commit marker: only now does the version exist for readers.
    await this.storage.put(`${dir}/card.json`, JSON.stringify(card, null, 2) + '\n');
    return { version, card };
  }

  /** Complete versions (those with card.json), ascending. */
  async listVersions(model: string): Promise<number[]> {
    validateModelName(model);
    const versions: number[] = [];
    for (const { version, file } of await this.versionFiles(model)) {
      if (file === 'card.json') versions.push(version);
    }
    return versions.sort((a, b) => a - b);
  }

  /** The highest complete version, or null when the model has none. */
  async latestVersion(model: string): Promise<number | null> {
    const versions = await this.listVersions(model);
    return versions.at(-1) ?? null;
  }

  /** Names of models that have at least one complete version, sorted. */
  async listModels(): Promise<string[]> {
    const models = new Set<string>();
    for (const { key } of await this.storage.list('')) {
      const parts = key.split('/');
      if (parts.length === 4 && parts[1] === 'versions' && parts[3] === 'card.json' && VERSION_DIR.test(parts[2]!)) {
        const name = parts[0]!;
        if (isModelName(name)) models.add(name);
      }
    }
    return [...models].sort();
  }

  async getCard(model: string, version: number): Promise<ModelCard> {
    validateModelName(model);
    validateVersion(version);
    let data: Buffer;
    try {
      data = await this.storage.get(`${versionDir(model, version)}/card.json`);
    } catch (err) {
      if (err instanceof NotFoundError) throw this.noVersion(model, version);
      throw err;
    }
    return this.parseJson(data, `${versionDir(model, version)}/card.json`) as ModelCard;
  }

  async getModelBytes(model: string, version: number): Promise<Buffer> {
    return this.readVersionFile(model, version, 'model.onnx');
  }

  async getReference<T = unknown>(model: string, version: number): Promise<T> {
    const data = await this.readVersionFile(model, version, 'reference.json');
    return this.parseJson(data, `${versionDir(model, version)}/reference.json`) as T;
  }

  async getCardMarkdown(model: string, version: number): Promise<string> {
    return (await this.readVersionFile(model, version, 'card.md')).toString('utf8');
  }

  async getTags(model: string, version: number): Promise<Record<string, string>> {
    validateModelName(model);
    validateVersion(version);
    await this.requireVersion(model, version);
    return (await this.readTags(model, version)).tags;
  }

  /** Applies `patch` (null deletes a tag) atomically and returns the resulting tags. */
  async setTags(model: string, version: number, patch: Record<string, string | null>): Promise<Record<string, string>> {
    validateModelName(model);
    validateVersion(version);
    if (typeof patch !== 'object' || patch === null) throw new UserError('tags patch must be an object');
    for (const [name, value] of Object.entries(patch)) {
      if (value !== null) validateTags({ [name]: value }, `cannot tag model '${model}' version ${version}`);
      else validateTagName(name, `cannot tag model '${model}' version ${version}`);
    }
    await this.requireVersion(model, version);
    const key = `${versionDir(model, version)}/tags.json`;
    return this.compareAndSwap(`tags of model '${model}' version ${version}`, async () => {
      const { tags, etag } = await this.readTags(model, version);
      const next: Record<string, string> = { ...tags };
      for (const [name, value] of Object.entries(patch)) {
        if (value === null) delete next[name];
        else next[name] = value;
      }
      if (sameJson(tags, next) && etag !== null) return { done: next };
      await this.storage.put(key, toJson(next), etag === null ? { ifNoneMatch: '*' } : { ifMatch: etag });
      return { done: next };
    });
  }

  /** Current aliases; `{}` when the model has none. */
  async getAliases(model: string): Promise<Aliases> {
    validateModelName(model);
    return (await this.readAliases(model)).aliases;
  }

  /**
   * Atomically replaces the aliases with `fn(current)`. `fn` may run several times (once per attempt when other
   * writers interfere), so it must be a pure function of its argument. Every alias that is added or moved must point
   * to an existing version.
   */
  async updateAliases<T extends Aliases>(model: string, fn: (current: Aliases) => T | Promise<T>): Promise<T> {
    validateModelName(model);
    const key = aliasesKey(model);
    const known = new Set<number>();
    return this.compareAndSwap(`aliases of model '${model}'`, async () => {
      const { aliases, etag } = await this.readAliases(model);
      const next = await fn({ ...aliases });
      validateAliases(next, `cannot update aliases of model '${model}'`);
      for (const [alias, version] of Object.entries(next)) {
        if (aliases[alias] === version || known.has(version)) continue;
        if (!(await this.storage.exists(`${versionDir(model, version)}/card.json`))) {
          throw new UserError(`cannot point alias '${alias}' of model '${model}' to version ${version}: no such version in ${this.uri}`);
        }
        known.add(version);
      }
      if (sameJson(aliases, next)) return { done: next };
      await this.storage.put(key, toJson(next), etag === null ? { ifNoneMatch: '*' } : { ifMatch: etag });
      return { done: next };
    });
  }

  async setAlias(model: string, alias: string, version: number): Promise<Aliases> {
    validateAliasName(alias);
    validateVersion(version);
    return this.updateAliases(model, (current) => ({ ...current, [alias]: version }));
  }

  /** Removes an alias (absent aliases are not an error) and returns the remaining aliases. */
  async deleteAlias(model: string, alias: string): Promise<Aliases> {
    validateAliasName(alias);
    return this.updateAliases(model, (current) => {
      const next = { ...current };
      delete next[alias];
      return next;
    });
  }

  /**
   * A version number (number or digits), `'latest'`, or an alias → an existing version number.
   * Readable UserErrors for unknown aliases, dangling aliases and missing versions.
   */
  async resolve(model: string, aliasOrVersion: string | number): Promise<number> {
    validateModelName(model);
    if (typeof aliasOrVersion === 'number' || /^[0-9]+$/.test(aliasOrVersion)) {
      const version = Number(aliasOrVersion);
      validateVersion(version);
      await this.requireVersion(model, version);
      return version;
    }
    if (aliasOrVersion === LATEST) {
      const latest = await this.latestVersion(model);
      if (latest === null) throw new UserError(`model '${model}' has no versions in ${this.uri}`);
      return latest;
    }
    const aliases = (await this.readAliases(model)).aliases;
    const version = aliases[aliasOrVersion];
    if (version === undefined) {
      const knownNames = Object.keys(aliases).sort();
      throw new UserError(
        `model '${model}' has no alias '${aliasOrVersion}' in ${this.uri}; known aliases: ${knownNames.length ? knownNames.join(', ') : '(none)'}`,
      );
    }
    if (!(await this.storage.exists(`${versionDir(model, version)}/card.json`))) {
      throw new UserError(
        `alias '${aliasOrVersion}' of model '${model}' points to version ${version}, which does not exist in ${this.uri}`,
      );
    }
    return version;
  }

  private async versionFiles(model: string): Promise<Array<{ version: number; file: string }>> {
    const prefix = `${model}/versions/`;
    const out: Array<{ version: number; file: string }> = [];
    for (const { key } of await this.storage.list(prefix)) {
      const [dir, file, ...rest] = key.slice(prefix.length).split('/');
      if (dir === undefined || file === undefined || rest.length > 0 || !VERSION_DIR.test(dir)) continue;
      out.push({ version: Number(dir), file });
    }
    return out;
  }

  /** Claims the next free version number: max(any version directory, complete or not) + 1, then upwards. */
  private async claimVersion(model: string): Promise<number> {
    let version = 1;
    for (const { version: used } of await this.versionFiles(model)) version = Math.max(version, used + 1);
    const claim = JSON.stringify({ claimedAt: new Date().toISOString(), host: os.hostname(), pid: process.pid }) + '\n';
    for (let attempt = 0; attempt < 10_000; attempt++, version++) {
      try {
        await this.storage.put(`${versionDir(model, version)}/claim.json`, claim, { ifNoneMatch: '*' });
        return version;
      } catch (err) {
        if (!(err instanceof PreconditionFailedError)) throw err;
      }
    }
    throw new Error(`could not claim a version number for model '${model}' in ${this.uri}`);
  }

  private async requireVersion(model: string, version: number): Promise<void> {
    if (!(await this.storage.exists(`${versionDir(model, version)}/card.json`))) throw this.noVersion(model, version);
  }

  private async readVersionFile(model: string, version: number, file: string): Promise<Buffer> {
    validateModelName(model);
    validateVersion(version);
    const key = `${versionDir(model, version)}/${file}`;
    // Read in parallel with the existence check; an incomplete (orphan) version must not be readable.
    const [complete, data] = await Promise.allSettled([this.requireVersion(model, version), this.storage.get(key)]);
    if (complete.status === 'rejected') throw complete.reason;
    if (data.status === 'rejected') {
      if (data.reason instanceof NotFoundError) {
        throw new UserError(`model '${model}' version ${version} in ${this.uri} is damaged: ${file} is missing`);
      }
      throw data.reason;
    }
    return data.value;
  }

  private async readTags(model: string, version: number): Promise<{ tags: Record<string, string>; etag: string | null }> {
    const key = `${versionDir(model, version)}/tags.json`;
    const current = await this.storage.getWithEtag(key);
    if (!current) return { tags: {}, etag: null };
    const tags = this.parseJson(current.data, key);
    if (typeof tags !== 'object' || tags === null || Array.isArray(tags) || Object.values(tags).some((v) => typeof v !== 'string')) {
      throw new UserError(`${key} in ${this.uri} is not an object of string tags`);
    }
    return { tags: tags as Record<string, string>, etag: current.etag };
  }

  private async readAliases(model: string): Promise<{ aliases: Aliases; etag: string | null }> {
    const key = aliasesKey(model);
    const current = await this.storage.getWithEtag(key);
    if (!current) return { aliases: {}, etag: null };
    const aliases = this.parseJson(current.data, key);
    try {
      validateAliases(aliases, 'invalid content');
    } catch (err) {
      throw new UserError(`${key} in ${this.uri} is damaged: ${(err as Error).message}`);
    }
    return { aliases, etag: current.etag };
  }

  /** Retries `attempt` while it loses a conditional write, with jittered exponential backoff. */
  private async compareAndSwap<T>(what: string, attempt: () => Promise<{ done: T }>): Promise<T> {
    for (let i = 0; i < this.maxAttempts; i++) {
      try {
        return (await attempt()).done;
      } catch (err) {
        if (!(err instanceof PreconditionFailedError)) throw err;
      }
      await sleep(Math.random() * Math.min(250, 4 * 2 ** i));
    }
    throw new UserError(`could not update the ${what} in ${this.uri}: ${this.maxAttempts} attempts lost to concurrent writers`);
  }

  private parseJson(data: Buffer, key: string): unknown {
    try {
      return JSON.parse(data.toString('utf8'));
    } catch {
      throw new UserError(`${key} in ${this.uri} is not valid JSON`);
    }
  }

  private noVersion(model: string, version: number): UserError {
    return new UserError(`model '${model}' has no version ${version} in ${this.uri}`);
  }
}

function versionDir(model: string, version: number): string {
  return `${model}/versions/${version}`;
}

function aliasesKey(model: string): string {
  return `${model}/aliases.json`;
}

function isModelName(name: string): boolean {
  return MODEL_NAME.test(name) && name !== '.' && name !== '..' && name.length <= 128;
}

export function validateModelName(model: string): void {
  if (typeof model !== 'string' || !isModelName(model)) {
    throw new UserError(`invalid model name '${String(model)}': use letters, digits, '_', '.', '-' (not '.' or '..')`);
  }
}

export function validateAliasName(alias: string): void {
  if (typeof alias !== 'string' || !ALIAS_NAME.test(alias) || alias.length > 64) {
    throw new UserError(`invalid alias name '${String(alias)}': use lowercase letters, digits, '_' and '-', starting with a letter`);
  }
  if (alias === LATEST) throw new UserError(`'${LATEST}' is reserved and cannot be used as an alias`);
}

function validateVersion(version: number): void {
  if (!Number.isSafeInteger(version) || version < 1) {
    throw new UserError(`invalid model version ${String(version)}: versions are integers from 1`);
  }
}

function validateAliases(value: unknown, context: string): asserts value is Aliases {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UserError(`${context}: aliases must be an object of alias → version`);
  }
  for (const [alias, version] of Object.entries(value)) {
    try {
      validateAliasName(alias);
      if (typeof version !== 'number') throw new UserError(`alias '${alias}' must map to a version number`);
      validateVersion(version);
    } catch (err) {
      throw new UserError(`${context}: ${(err as Error).message}`);
    }
  }
}

function validateTagName(name: string, context: string): void {
  if (name.length === 0 || name.length > 128) throw new UserError(`${context}: tag names must have 1–128 characters`);
}

function validateTags(tags: Record<string, unknown>, context: string): void {
  for (const [name, value] of Object.entries(tags)) {
    validateTagName(name, context);
    if (typeof value !== 'string') throw new UserError(`${context}: tag '${name}' must be a string`);
  }
}

/** Stable JSON (sorted keys) so that equal content means equal bytes and equal ETags. */
function toJson(record: Record<string, unknown>): string {
  const sorted = Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return JSON.stringify(sorted, null, 2) + '\n';
}

function sameJson(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  return toJson(a) === toJson(b);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
