import { existsSync } from 'node:fs';
import * as path from 'node:path';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** The real OWID table lives beside the repository (never inside it); tests skip with a message when absent. */
export const OWID_CSV = path.resolve(REPO_ROOT, '..', 'shared', 'data', 'owid-energy-data.csv');
export const HAS_OWID = existsSync(OWID_CSV);
export const OWID_SKIP_MESSAGE = `OWID data not found at ../shared/data/owid-energy-data.csv — skipping tests on the real table`;
if (!HAS_OWID) console.warn(OWID_SKIP_MESSAGE);
