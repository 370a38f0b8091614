// Pulumi program entry (Pulumi.yaml `main: infra/`): validated stack config in, documented outputs out.
import { loadConfig } from './config';
import { deployStack } from './stack';

const outputs = deployStack(loadConfig());

/** `container` (Azure Container Apps) or `databricks` (Model Serving). */
export const servingTarget = outputs.servingTarget;
/** Base URL of the scoring endpoint. */
export const endpointUrl = outputs.endpointUrl;
/** POST target for MLflow-style scoring requests. */
export const invocationsUrl = outputs.invocationsUrl;
/** Traffic share per registry alias, e.g. { champion: 90, challenger: 10 }. */
export const canarySplit = outputs.canarySplit;
/** Key Vault secret holding the endpoint bearer keys (container target only; never the value). */
export const apiKeySecretName = outputs.apiKeySecretName;
export const keyVaultUri = outputs.keyVaultUri;
/** Databricks secret scope backed by the vault. */
export const secretScope = outputs.secretScope;
export const jobIds = outputs.jobIds;
export const jobUrls = outputs.jobUrls;
export const storageAccountName = outputs.storageAccountName;
export const storageContainerUrls = outputs.storageContainerUrls;
/** Deployed image references (registry/repository:tag). */
export const images = outputs.images;
