import { describe, expect, it } from 'vitest';
import { defaultPrices, mergeOver, parsePriceTable } from './prices';

describe('price table', () => {
  it('the default table is valid, dated and names a source page for every section', () => {
    const { table } = defaultPrices();
    expect(table.as_of).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(table.notice).toMatch(/list prices/i);
    for (const section of [table.container_apps, table.model_serving, table.databricks_jobs, table.storage, table.log_analytics, table.key_vault, table.container_registry]) {
      expect(section.source.url).toMatch(/^https:\/\/azure\.microsoft\.com\/en-us\/pricing\//);
      expect(section.source.read_on).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    }
  });

  it('overrides merge key by key over the default', () => {
    const merged = mergeOver({ a: { x: 1, y: 2 }, list: [1, 2], keep: true }, { a: { y: 3, z: 4 }, list: [9] }) as Record<string, unknown>;
    expect(merged).toEqual({ a: { x: 1, y: 3, z: 4 }, list: [9], keep: true });
  });

  it('a table missing a section names it', () => {
    const { table } = defaultPrices();
    const { key_vault: _omitted, ...rest } = table;
    expect(() => parsePriceTable(rest, 'test')).toThrow(/test: invalid price table: key_vault: /);
  });
});
