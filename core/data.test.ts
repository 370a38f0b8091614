import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTable, selectRows, years } from './data';
import { UserError } from './errors';
import { FEATURES, N_FEATURES, TARGET } from './schema';
import { syntheticCsv, syntheticTable } from './synthetic';
import { HAS_OWID, OWID_CSV } from '../test/support/paths';
import { withDuckDB, sqlString } from './duckdb';

let dir: string;
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mlops-data-'));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

async function writeCsv(name: string, text: string): Promise<string> {
  const file = path.join(dir, name);
  await fs.writeFile(file, text);
  return file;
}

const HEADER = `country,${FEATURES.join(',')},${TARGET}`;

describe('loadTable (CSV)', () => {
  it('reads columns by name in any order, counts incomplete rows and ignores extra columns', async () => {
    const cols = ['extra', TARGET, ...[...FEATURES].reverse(), 'country'];
    const rowsIn = [
      // extra, target, renewables, fossil, primary, gdp, population, year, country
      ['x', '10', '1', '8', '10', '2000', '100', '2000', 'A'],
      ['y', '', '1', '8', '10', '2000', '100', '2001', 'A'], // missing target
      ['z', '20', '2', '', '10', '2000', '100', '2002', 'A'], // missing feature
      ['w', '30', '3', '7', '10', 'NaN', '100', '2003', 'B'], // NaN is missing, as pandas reads it
      ['v', '40', '4', '6', '10', '3000', '200', '2004', 'B'],
    ];
    const file = await writeCsv('reordered.csv', [cols.join(','), ...rowsIn.map((r) => r.join(','))].join('\n'));
    const t = await loadTable(file);
    expect(t.rows).toBe(5);
    expect(t.usedRows).toBe(2);
    expect(t.excluded).toEqual({ missingFeature: 2, missingTarget: 1 });
    expect(Array.from(t.X.subarray(0, N_FEATURES))).toEqual([2000, 100, 2000, 10, 8, 1]);
    expect(Array.from(t.y)).toEqual([10, 40]);
    expect(t.country).toEqual(['A', 'B']);
    expect(t.source.format).toBe('csv');
    expect(t.source.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(Array.from(years(t))).toEqual([2000, 2004]);
    const picked = selectRows(t, [1]);
    expect(picked.usedRows).toBe(1);
    expect(Array.from(picked.y)).toEqual([40]);
  });

  it('names file, line and column of a non-numeric cell', async () => {
    const file = await writeCsv('bad-cell.csv', `${HEADER}\nA,2000,100,2000,10,8,1,10\nA,2001,100,abc,10,8,1,10\n`);
    await expect(loadTable(file)).rejects.toThrowError(new UserError(`${file}: line 3, column 'gdp': not a number: "abc"`));
  });

  it('rejects a missing file, an empty file, a header-only file and a missing column with one readable line', async () => {
    await expect(loadTable(path.join(dir, 'nope.csv'))).rejects.toThrow(/data file not found: .*nope\.csv/);
    await expect(loadTable(await writeCsv('empty.csv', ''))).rejects.toThrow(/data file is empty/);
    await expect(loadTable(await writeCsv('header.csv', HEADER + '\n'))).rejects.toThrow(/header but no rows/);
    const noGdp = await writeCsv('no-gdp.csv', 'country,year,population,primary_energy_consumption,fossil_fuel_consumption,renewables_consumption,renewables_share_energy\nA,1,2,3,4,5,6\n');
    await expect(loadTable(noGdp)).rejects.toThrow(/missing required column 'gdp'/);
    await expect(loadTable(path.join(dir, 'table.xlsx'))).rejects.toThrow(/expected a \.csv or \.parquet file/);
  });

  it('fails clearly when every row is incomplete', async () => {
    const file = await writeCsv('incomplete.csv', `${HEADER}\nA,2000,,1,1,1,1,1\nA,2001,1,1,1,1,1,\n`);
    await expect(loadTable(file)).rejects.toThrow(/no complete rows .*all 2 rows miss a feature \(1\) or the target \(1\)/);
  });
});

describe('loadTable (Parquet)', () => {
  it('reads a Parquet export with the same result as the CSV it came from', async () => {
    const csv = await writeCsv('synthetic.csv', syntheticCsv({ countries: 5 }));
    const parquet = path.join(dir, 'synthetic.parquet');
    await withDuckDB(async (conn) => {
      await conn.run(`COPY (SELECT * FROM read_csv(${sqlString(csv)}, header = true)) TO ${sqlString(parquet)} (FORMAT parquet)`);
    });
    const a = await loadTable(csv);
    const b = await loadTable(parquet);
    expect(b.source.format).toBe('parquet');
    expect(b.usedRows).toBe(a.usedRows);
    expect(b.excluded).toEqual(a.excluded);
    expect(Array.from(b.X)).toEqual(Array.from(a.X));
    expect(Array.from(b.y)).toEqual(Array.from(a.y));
    expect(b.country).toEqual(a.country);
  });

  it('rejects a Parquet file with a text feature column or a missing column', async () => {
    const bad = path.join(dir, 'text.parquet');
    const missing = path.join(dir, 'missing.parquet');
    await withDuckDB(async (conn) => {
      await conn.run(
        `COPY (SELECT 2000 AS year, 1 AS population, 'lots' AS gdp, 1.0 AS primary_energy_consumption, 1.0 AS fossil_fuel_consumption, 1.0 AS renewables_consumption, 1.0 AS renewables_share_energy) TO ${sqlString(bad)} (FORMAT parquet)`,
      );
      await conn.run(`COPY (SELECT 2000 AS year) TO ${sqlString(missing)} (FORMAT parquet)`);
    });
    await expect(loadTable(bad)).rejects.toThrow(/column 'gdp' has type VARCHAR; a numeric type is required/);
    await expect(loadTable(missing)).rejects.toThrow(/missing required columns 'population'/);
    const garbage = await writeCsv('garbage.parquet', 'not parquet at all');
    await expect(loadTable(garbage)).rejects.toThrow(/cannot read Parquet/);
  });
});

describe('synthetic table', () => {
  it('is deterministic, labelled synthetic and within realistic ranges', () => {
    const a = syntheticTable({ seed: 3 });
    const b = syntheticTable({ seed: 3 });
    const c = syntheticTable({ seed: 4 });
    expect(a.source.synthetic).toBe(true);
    expect(a.source.uri).toMatch(/^synthetic:/);
    expect(a.source.sha256).toBe(b.source.sha256);
    expect(Array.from(a.X)).toEqual(Array.from(b.X));
    expect(a.source.sha256).not.toBe(c.source.sha256);
    expect(a.excluded.missingFeature + a.excluded.missingTarget).toBeGreaterThan(0);
    expect(a.country.every((name) => name?.startsWith('Synthetic'))).toBe(true);
    for (let i = 0; i < a.usedRows; i++) {
      const [year, pop, gdp, primary, fossil, ren] = Array.from(a.X.subarray(i * N_FEATURES, (i + 1) * N_FEATURES));
      expect(year).toBeGreaterThanOrEqual(1965);
      expect(pop).toBeGreaterThan(1e5);
      expect(pop).toBeLessThan(3e9);
      expect(gdp! / pop!).toBeLessThan(400_000);
      expect(fossil! + ren!).toBeLessThanOrEqual(primary! * 1.001 + 0.002);
      expect(a.y[i]).toBeGreaterThanOrEqual(0);
      expect(a.y[i]).toBeLessThanOrEqual(100);
    }
  });

  it('loads from its CSV text exactly like the in-memory table', async () => {
    const file = await writeCsv('synthetic-2.csv', syntheticCsv({ seed: 9, countries: 4 }));
    const fromFile = await loadTable(file);
    const mem = syntheticTable({ seed: 9, countries: 4 });
    expect(Array.from(fromFile.X)).toEqual(Array.from(mem.X));
    expect(fromFile.excluded).toEqual(mem.excluded);
  });
});

describe.skipIf(!HAS_OWID)('the real OWID table', () => {
  it('has 13,255 rows of which 4,287 are complete', async () => {
    const t = await loadTable(OWID_CSV);
    expect(t.rows).toBe(13255);
    expect(t.usedRows).toBe(4287);
    expect(t.excluded.missingFeature + t.excluded.missingTarget).toBe(13255 - 4287);
    expect(t.source.synthetic).toBe(false);
  });
});
