/**
 * Storage on an Azure Blob container (or an ADLS Gen2 filesystem, through its blob endpoint), optionally under a
 * prefix. Also works against the Azurite emulator with path-style URIs.
 *
 * Accepted URIs:
 *   https://<account>.blob.core.windows.net/<container>[/<prefix>]
 *   https://<account>.dfs.core.windows.net/<container>[/<prefix>]     (ADLS Gen2; the blob endpoint is used)
 *   abfss://<container>@<account>.dfs.core.windows.net[/<prefix>]     (Spark/Databricks spelling)
 *   http://127.0.0.1:<port>/<account>/<container>[/<prefix>]          (emulator, path style; also localhost)
 *
 * Credentials: AZURE_STORAGE_CONNECTION_STRING when set (its account must be the URI's account; only the key or SAS
 * is taken from it, the endpoint always comes from the URI), otherwise DefaultAzureCredential (managed identity in
 * the cloud, `az login` on a workstation).
 *
 * The Azure SDK is imported lazily on first use: processes that only touch local storage never load it.
 */
import type { BlobServiceClient, ContainerClient, StoragePipelineOptions } from '@azure/storage-blob' with { 'resolution-mode': 'import' };
import { NotFoundError, PreconditionFailedError, UserError } from '../errors';
import { validateKey, validatePrefix } from './local';
import type { ObjectInfo, PutOptions, Storage } from './types';

export interface AzureBlobLocation {
  accountName: string;
  /** Service endpoint without container: `https://<account>.blob.core.windows.net` or `http://127.0.0.1:<port>/<account>`. */
  serviceUrl: string;
  container: string;
  /** `''` or a key prefix ending in `/`. */
  prefix: string;
}

export interface AzureBlobStorageOptions {
  /** Tries per request (first try included) for data operations; default 3. */
  maxTries?: number;
  /** Timeout of one try of a data operation; default 60 s (single-shot uploads up to ~100 MB). */
  tryTimeoutMs?: number;
  /** Overall deadline of one data operation, retries included; default 5 min. */
  operationTimeoutMs?: number;
  /** Overall deadline of `check()`, retries included; default 8 s. */
  checkTimeoutMs?: number;
}

const AZURE_HOST = /^([a-z0-9]{3,24})\.(blob|dfs)\.(core\.windows\.net|core\.chinacloudapi\.cn|core\.usgovcloudapi\.net)$/;
const EMULATOR_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', 'azurite']);
const CONTAINER_NAME = /^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$/;

export const AZURE_URI_FORMS = [
  'https://<account>.blob.core.windows.net/<container>[/<prefix>]',
  'https://<account>.dfs.core.windows.net/<container>[/<prefix>]',
  'abfss://<container>@<account>.dfs.core.windows.net[/<prefix>]',
  'http://127.0.0.1:<port>/<account>/<container>[/<prefix>] (Azurite)',
];

/**
 * Parses an Azure Blob / ADLS URI. Returns null when the URI is not one of the Azure forms at all; throws a
 * UserError when it is, but is malformed (bad container name, credentials in the URI, …).
 */
export function parseAzureBlobUri(uri: string): AzureBlobLocation | null {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return null;
  }
  const scheme = url.protocol.slice(0, -1).toLowerCase();
  const host = url.hostname.toLowerCase();
  const pathSegments = url.pathname.split('/').filter((s) => s !== '').map(decodeURIComponent);

  let accountName: string;
  let serviceUrl: string;
  let container: string | undefined;
  let prefixSegments: string[];

  if (scheme === 'abfss' || scheme === 'abfs' || scheme === 'wasbs' || scheme === 'wasb') {
    const match = AZURE_HOST.exec(host);
    if (!match || !url.username) return null;
    if (url.password) throw new UserError(`storage URI ${redact(uri)} must not contain credentials`);
    accountName = match[1]!;
    serviceUrl = `https://${accountName}.blob.${match[3]!}`;
    container = decodeURIComponent(url.username);
    prefixSegments = pathSegments;
  } else if (scheme === 'https' || scheme === 'http') {
    const match = AZURE_HOST.exec(host);
    if (match) {
      if (scheme !== 'https') throw new UserError(`storage URI ${uri} must use https://`);
      accountName = match[1]!;
      serviceUrl = `https://${accountName}.blob.${match[3]!}`;
      [container, ...prefixSegments] = pathSegments;
    } else if (EMULATOR_HOSTS.has(host)) {
      const [account, ...rest] = pathSegments;
      if (!account) throw new UserError(`storage URI ${uri} names no account: expected ${AZURE_URI_FORMS[3]}`);
      accountName = account;
      serviceUrl = `${scheme}://${url.host}/${encodeURIComponent(account)}`;
      [container, ...prefixSegments] = rest;
    } else {
      return null;
    }
    if (url.username || url.password) throw new UserError(`storage URI ${redact(uri)} must not contain credentials`);
  } else {
    return null;
  }

  if (url.search || url.hash) {
    throw new UserError(
      `storage URI ${redact(uri)} must not have a query or fragment (put SAS tokens in AZURE_STORAGE_CONNECTION_STRING)`,
    );
  }
  if (!container) throw new UserError(`storage URI ${uri} names no container`);
  if (!CONTAINER_NAME.test(container)) {
    throw new UserError(
      `storage URI ${uri}: '${container}' is not a valid container name (3–63 lowercase letters, digits and single hyphens)`,
    );
  }
  let prefix = '';
  if (prefixSegments.length > 0) {
    prefix = prefixSegments.join('/');
    try {
      validateKey(prefix);
    } catch (err) {
      throw new UserError(`storage URI ${uri} has an invalid path: ${(err as Error).message}`);
    }
    prefix += '/';
  }
  return { accountName, serviceUrl, container, prefix };
}

// The SDK is loaded with `import()`, which resolves its ESM build: take the types from there too.
type BlobSdk = typeof import('@azure/storage-blob', { with: { 'resolution-mode': 'import' } });

export class AzureBlobStorage implements Storage {
  readonly uri: string;
  readonly location: AzureBlobLocation;
  private readonly options: Required<AzureBlobStorageOptions>;
  private dataClient: Promise<ContainerClient> | null = null;
  private checkClient: Promise<ContainerClient> | null = null;

  constructor(uri: string, options: AzureBlobStorageOptions = {}) {
    const location = parseAzureBlobUri(uri);
    if (!location) throw new UserError(`not an Azure Blob storage URI: ${uri}; accepted: ${AZURE_URI_FORMS.join(', ')}`);
    this.uri = uri;
    this.location = location;
    this.options = {
      maxTries: options.maxTries ?? 3,
      tryTimeoutMs: options.tryTimeoutMs ?? 60_000,
      operationTimeoutMs: options.operationTimeoutMs ?? 300_000,
      checkTimeoutMs: options.checkTimeoutMs ?? 8_000,
    };
  }

  async get(key: string): Promise<Buffer> {
    const result = await this.download(key);
    if (result === null) throw new NotFoundError(`'${key}' not found in ${this.uri}`);
    return result.data;
  }

  async getWithEtag(key: string): Promise<{ data: Buffer; etag: string } | null> {
    return this.download(key);
  }

  async put(key: string, data: Buffer | string, options: PutOptions = {}): Promise<{ etag: string }> {
    const name = this.blobName(key);
    if (options.ifNoneMatch !== undefined && options.ifMatch !== undefined) {
      throw new Error('put: ifNoneMatch and ifMatch cannot be combined');
    }
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    const container = await this.client();
    try {
      const response = await container.getBlockBlobClient(name).uploadData(buf, {
        abortSignal: AbortSignal.timeout(this.options.operationTimeoutMs),
        blobHTTPHeaders: { blobContentType: options.contentType ?? contentTypeOf(key) },
        conditions:
          options.ifNoneMatch === '*'
            ? { ifNoneMatch: '*' }
            : options.ifMatch !== undefined
              ? { ifMatch: options.ifMatch }
              : undefined,
      });
      if (!response.etag) throw new Error(`upload of '${key}' to ${this.uri} returned no ETag`);
      return { etag: response.etag };
    } catch (err) {
      const status = statusOf(err);
      if (options.ifNoneMatch === '*' && (status === 409 || status === 412)) {
        throw new PreconditionFailedError(`'${key}' already exists in ${this.uri}`);
      }
      if (options.ifMatch !== undefined && status === 412) {
        throw new PreconditionFailedError(`'${key}' in ${this.uri} was changed by someone else`);
      }
      if (options.ifMatch !== undefined && status === 404 && errorCodeOf(err) === 'BlobNotFound') {
        throw new PreconditionFailedError(`'${key}' does not exist in ${this.uri} (expected ETag ${options.ifMatch})`);
      }
      throw this.translate(err, key);
    }
  }

  async exists(key: string): Promise<boolean> {
    const name = this.blobName(key);
    const container = await this.client();
    try {
      await container.getBlobClient(name).getProperties({ abortSignal: AbortSignal.timeout(this.options.operationTimeoutMs) });
      return true;
    } catch (err) {
      if (statusOf(err) === 404 && errorCodeOf(err) !== 'ContainerNotFound') return false;
      throw this.translate(err, key);
    }
  }

  async delete(key: string): Promise<void> {
    const name = this.blobName(key);
    const container = await this.client();
    try {
      await container.getBlobClient(name).delete({ abortSignal: AbortSignal.timeout(this.options.operationTimeoutMs) });
    } catch (err) {
      if (statusOf(err) === 404 && errorCodeOf(err) === 'BlobNotFound') return;
      throw this.translate(err, key);
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    validatePrefix(prefix);
    const container = await this.client();
    const out: ObjectInfo[] = [];
    const strip = this.location.prefix.length;
    try {
      const blobs = container.listBlobsFlat({
        prefix: this.location.prefix + prefix,
        includeMetadata: true,
        abortSignal: AbortSignal.timeout(this.options.operationTimeoutMs),
      });
      for await (const blob of blobs) {
        // ADLS Gen2 (hierarchical namespace) lists directories as empty blobs marked hdi_isfolder.
        if (blob.metadata?.hdi_isfolder === 'true') continue;
        out.push({
          key: blob.name.slice(strip),
          size: blob.properties.contentLength ?? 0,
          lastModified: blob.properties.lastModified,
        });
      }
    } catch (err) {
      throw this.translate(err);
    }
    out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return out;
  }

  /** Lists at most one blob under the prefix: proves reachability, credentials, the container and list rights. */
  async check(): Promise<void> {
    try {
      const container = await (this.checkClient ??= this.createClient(true));
      const pages = container
        .listBlobsFlat({ prefix: this.location.prefix, abortSignal: AbortSignal.timeout(this.options.checkTimeoutMs) })
        .byPage({ maxPageSize: 1 });
      await pages.next();
    } catch (err) {
      this.checkClient = null;
      throw this.translate(err, undefined, this.options.checkTimeoutMs);
    }
  }

  private blobName(key: string): string {
    validateKey(key);
    return this.location.prefix + key;
  }

  private async client(): Promise<ContainerClient> {
    if (!this.dataClient) {
      this.dataClient = this.createClient(false);
      // A failed creation (bad credentials configuration) is retried on the next call.
      this.dataClient.catch(() => {
        this.dataClient = null;
      });
    }
    return this.dataClient;
  }

  private async createClient(forCheck: boolean): Promise<ContainerClient> {
    const sdk: BlobSdk = await import('@azure/storage-blob');
    const pipeline: StoragePipelineOptions = {
      retryOptions: forCheck
        ? { maxTries: 2, tryTimeoutInMs: Math.max(1_000, Math.floor(this.options.checkTimeoutMs / 2)), retryDelayInMs: 200, maxRetryDelayInMs: 500 }
        : {
            maxTries: this.options.maxTries,
            tryTimeoutInMs: this.options.tryTimeoutMs,
            retryDelayInMs: 200,
            maxRetryDelayInMs: 2_000,
          },
      userAgentOptions: { userAgentPrefix: 'renewable-energy-mlops' },
    };
    const service = await this.serviceClient(sdk, pipeline);
    return service.getContainerClient(this.location.container);
  }

  private async serviceClient(sdk: BlobSdk, pipeline: StoragePipelineOptions): Promise<BlobServiceClient> {
    const { accountName, serviceUrl } = this.location;
    const connectionString = process.env.AZURE_STORAGE_CONNECTION_STRING;
    if (connectionString) {
      let parsed: BlobServiceClient;
      try {
        parsed = sdk.BlobServiceClient.fromConnectionString(connectionString);
      } catch (err) {
        throw new UserError(
          `AZURE_STORAGE_CONNECTION_STRING is not a valid storage connection string (${firstLine((err as Error).message)})`,
        );
      }
      if (parsed.accountName !== accountName) {
        throw new UserError(
          `AZURE_STORAGE_CONNECTION_STRING is for storage account '${parsed.accountName}', but ${this.uri} is in account '${accountName}'`,
        );
      }
      if (parsed.credential instanceof sdk.StorageSharedKeyCredential) {
        return new sdk.BlobServiceClient(serviceUrl, parsed.credential, pipeline);
      }
      // A SAS connection string: the token travels in the query string of the endpoint.
      const sas = new URL(parsed.url).search;
      return new sdk.BlobServiceClient(`${serviceUrl}${sas}`, new sdk.AnonymousCredential(), pipeline);
    }
    if (serviceUrl.startsWith('http:')) {
      throw new UserError(
        `${this.uri} is an emulator URI over plain http: set AZURE_STORAGE_CONNECTION_STRING for account '${accountName}'`,
      );
    }
    const identity = await import('@azure/identity');
    return new sdk.BlobServiceClient(serviceUrl, new identity.DefaultAzureCredential(), pipeline);
  }

  private async download(key: string): Promise<{ data: Buffer; etag: string } | null> {
    const name = this.blobName(key);
    const container = await this.client();
    try {
      const response = await container
        .getBlobClient(name)
        .download(0, undefined, { abortSignal: AbortSignal.timeout(this.options.operationTimeoutMs) });
      const data = await readAll(response.readableStreamBody);
      if (!response.etag) throw new Error(`download of '${key}' from ${this.uri} returned no ETag`);
      return { data, etag: response.etag };
    } catch (err) {
      if (statusOf(err) === 404 && errorCodeOf(err) !== 'ContainerNotFound') return null;
      throw this.translate(err, key);
    }
  }

  /** Turns SDK/network errors into one-line UserErrors naming the URI; unknown errors pass through. */
  private translate(err: unknown, key?: string, timeoutMs = this.options.operationTimeoutMs): Error {
    if (err instanceof UserError || err instanceof NotFoundError || err instanceof PreconditionFailedError) return err;
    const e = err as { name?: string; message?: string; code?: string };
    const status = statusOf(err);
    const code = errorCodeOf(err);
    const where = key ? `'${key}' in ${this.uri}` : this.uri;
    if (e.name === 'AbortError' || e.name === 'TimeoutError') {
      return new UserError(`cannot reach ${this.uri}: no answer within ${timeoutMs} ms`);
    }
    if (e.name === 'CredentialUnavailableError' || e.name === 'AuthenticationError' || e.name === 'AggregateAuthenticationError') {
      return new UserError(
        `no usable Azure credential for ${this.uri} (set AZURE_STORAGE_CONNECTION_STRING, use a managed identity or az login): ${firstLine(e.message ?? '')}`,
      );
    }
    if (status === 404 && code === 'ContainerNotFound') {
      return new UserError(`container '${this.location.container}' does not exist in storage account '${this.location.accountName}' (${this.uri})`);
    }
    if (status === 404) return new NotFoundError(`${where} not found`);
    if (status === 401 || status === 403) {
      return new UserError(`access to ${this.uri} denied (${status} ${code ?? ''}): check the credentials and role assignments`.replace(' )', ')'));
    }
    if (status === undefined && e.code) {
      const reason = NETWORK_REASONS[e.code];
      if (reason || e.name === 'RestError') {
        return new UserError(`cannot reach ${this.uri}: ${reason ?? firstLine(e.message ?? e.code)}`);
      }
    }
    return err instanceof Error ? err : new Error(String(err));
  }
}

const NETWORK_REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host name not found (DNS)',
  EAI_AGAIN: 'host name lookup failed (DNS)',
  ETIMEDOUT: 'connection timed out',
  ESOCKETTIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EPIPE: 'connection closed',
  CERT_HAS_EXPIRED: 'TLS certificate expired',
  REQUEST_SEND_ERROR: 'request could not be sent',
};

function statusOf(err: unknown): number | undefined {
  const status = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

function errorCodeOf(err: unknown): string | undefined {
  const e = err as { details?: { errorCode?: unknown }; code?: unknown } | null;
  const code = e?.details?.errorCode ?? e?.code;
  return typeof code === 'string' ? code : undefined;
}

function firstLine(message: string): string {
  return (message.split('\n').find((line) => line.trim() !== '') ?? '').trim();
}

function redact(uri: string): string {
  return uri.replace(/\?.*$/, '?…').replace(/\/\/[^@/]*@/, '//…@');
}

function contentTypeOf(key: string): string {
  if (key.endsWith('.json')) return 'application/json';
  if (key.endsWith('.jsonl') || key.endsWith('.ndjson')) return 'application/x-ndjson';
  if (key.endsWith('.md')) return 'text/markdown; charset=utf-8';
  if (key.endsWith('.csv')) return 'text/csv';
  if (key.endsWith('.html')) return 'text/html; charset=utf-8';
  return 'application/octet-stream';
}

async function readAll(stream: NodeJS.ReadableStream | undefined): Promise<Buffer> {
  if (!stream) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks);
}
