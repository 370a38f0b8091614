import { createHash } from 'node:crypto';
import { buildTable, REQUIRED_COLUMNS, type TrainingTable } from './data';
import { createRng } from './random';

/**
 * A deterministic SYNTHETIC country-year table in the OWID schema, for demos and tests without the real file.
 * Ranges follow the real data (population 3·10⁵–1.4·10⁹, GDP per capita ~1–60 k int-$, energy use rising with
 * income, renewable shares from near 0 to hydro-heavy ~60 %), and the target is derived exactly as OWID does
 * (renewables_consumption / primary_energy_consumption × 100). Every country is named "Synthetic …" and the
 * table's source is marked `synthetic: true` so it can never pass for real data.
 */
export interface SyntheticOptions {
  seed?: number;
  countries?: number;
  firstYear?: number;
  lastYear?: number;
  /** Share of rows with one feature blanked out (exercises the missing-value accounting). */
  missingRate?: number;
}

export const SYNTHETIC_URI = 'synthetic://owid-energy';

interface SyntheticRow {
  country: string;
  values: (number | null)[]; // REQUIRED_COLUMNS order
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

function generateRows(options: SyntheticOptions): SyntheticRow[] {
  const { seed = 7, countries = 60, firstYear = 1965, lastYear = 2022, missingRate = 0.03 } = options;
  if (!(lastYear >= firstYear)) throw new RangeError(`lastYear (${lastYear}) must be ≥ firstYear (${firstYear})`);
  const rng = createRng(seed);
  const logUniform = (lo: number, hi: number) => Math.exp(Math.log(lo) + rng.next() * (Math.log(hi) - Math.log(lo)));
  const rows: SyntheticRow[] = [];
  for (let c = 0; c < countries; c++) {
    const name = `Synthetic ${String(c + 1).padStart(3, '0')}`;
    let population = logUniform(3e5, 7e8);
    const popGrowth = 0.002 + rng.next() * 0.028;
    let gdpPerCapita = logUniform(800, 25_000);
    const gdpGrowth = 0.005 + rng.next() * 0.035;
    const intensity = 0.6 + rng.next() * 1.2; // MWh per capita at 1,000 $ per capita
    const hydroBase = rng.next() < 0.25 ? 15 + rng.next() * 45 : rng.next() * 8; // % of primary energy
    const nuclearShare = rng.next() < 0.3 ? rng.next() * 25 : 0;
    const adoption = rng.next() * 0.9; // percentage points per year after 2000
    for (let year = firstYear; year <= lastYear; year++) {
      population *= 1 + popGrowth + rng.normal() * 0.003;
      gdpPerCapita *= 1 + gdpGrowth + rng.normal() * 0.02;
      const energyPerCapita = intensity * (gdpPerCapita / 1000) ** 0.75; // MWh
      const primary = (population * energyPerCapita) / 1e6; // TWh
      const modern = year > 2000 ? adoption * (year - 2000) : 0;
      const share = Math.min(95, Math.max(0.01, hydroBase + modern + rng.normal() * 0.8));
      const fossilShare = Math.max(0, 100 - share - nuclearShare);
      const primaryR = round(primary, 3);
      const renewables = round((share * primaryR) / 100, 3);
      const values: (number | null)[] = [
        year,
        Math.round(population),
        Math.round(population * gdpPerCapita),
        primaryR,
        round((fossilShare * primaryR) / 100, 3),
        renewables,
        primaryR > 0 ? round((renewables / primaryR) * 100, 3) : 0,
      ];
      if (rng.next() < missingRate) values[1 + rng.nextInt(values.length - 1)] = null;
      rows.push({ country: name, values });
    }
  }
  return rows;
}

/** The synthetic table as CSV text with the official OWID column names (plus `country`). */
export function syntheticCsv(options: SyntheticOptions = {}): string {
  const lines = [['country', ...REQUIRED_COLUMNS].join(',')];
  for (const r of generateRows(options)) {
    lines.push([r.country, ...r.values.map((v) => (v === null ? '' : String(v)))].join(','));
  }
  return lines.join('\n') + '\n';
}

/** The synthetic table, loaded exactly as a file with the same content would be. */
export function syntheticTable(options: SyntheticOptions = {}): TrainingTable {
  const rows = generateRows(options);
  const columns = REQUIRED_COLUMNS.map((_, k) => Float64Array.from(rows, (r) => r.values[k] ?? NaN));
  const sha256 = createHash('sha256').update(syntheticCsv(options)).digest('hex');
  return buildTable(SYNTHETIC_URI, 'generated', sha256, { rows: rows.length, columns, country: rows.map((r) => r.country) });
}
