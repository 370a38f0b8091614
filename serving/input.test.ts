import { describe, expect, it } from 'vitest';
import { FEATURES } from '../core/schema';
import { PlainTextError, ScoringError } from './errors';
import { contentKind, parseCsvBody, parseJsonBody } from './input';

const ROW = [2015, 47_000_000, 1.6e12, 1500.5, 1200, 250];
const RECORD = Object.fromEntries(FEATURES.map((f, j) => [f, ROW[j]]));

function values(text: string): number[] {
  return Array.from(parseJsonBody(text, 100).values);
}

function jsonError(text: string, maxRows = 100): ScoringError {
  try {
    parseJsonBody(text, maxRows);
  } catch (err) {
    expect(err).toBeInstanceOf(ScoringError);
    return err as ScoringError;
  }
  throw new Error('expected a ScoringError');
}

describe('contentKind', () => {
  it('accepts JSON and CSV with an optional utf-8 charset', () => {
    expect(contentKind('application/json')).toBe('json');
    expect(contentKind('Application/JSON; charset=UTF-8')).toBe('json');
    expect(contentKind('text/csv;charset=utf-8')).toBe('csv');
  });
  it('rejects other types, charsets and parameters with plain-text 415 messages as MLflow', () => {
    const cases: [string | undefined, RegExp][] = [
      [undefined, /only supports the following content types.*Got 'None'/],
      ['text/plain', /Got 'text\/plain'/],
      ['application/json; charset=latin-1', /only supports UTF-8/],
      ['application/json; boundary=x', /Unrecognized content type parameters: boundary/],
    ];
    for (const [header, message] of cases) {
      try {
        contentKind(header);
        throw new Error('no error');
      } catch (err) {
        expect(err).toBeInstanceOf(PlainTextError);
        expect((err as PlainTextError).status).toBe(415);
        expect((err as Error).message).toMatch(message);
      }
    }
  });
});

describe('parseJsonBody', () => {
  it('reads every MLflow input format into the same feature order', () => {
    const shuffled = [...FEATURES].reverse();
    const bodies = [
      { dataframe_split: { columns: FEATURES, data: [ROW] } },
      { dataframe_split: { index: [7], columns: ['extra', ...shuffled], data: [['x', ...shuffled.map((f) => RECORD[f])]] } },
      { dataframe_records: [{ ...RECORD, extra: 'ignored' }] },
      { instances: [RECORD] },
      { instances: [ROW] },
      { inputs: [ROW], params: { anything: 1 } },
      { inputs: Object.fromEntries(FEATURES.map((f) => [f, [RECORD[f]]])) },
    ];
    for (const body of bodies) expect(values(JSON.stringify(body))).toEqual(ROW);
  });
  it('keeps float64 values and the client request id', () => {
    const parsed = parseJsonBody(JSON.stringify({ inputs: [[2015, 123456789.123, 1, 2, 3, 4]], client_request_id: 'abc' }), 10);
    expect(parsed.values[1]).toBe(123456789.123);
    expect(parsed.clientRequestId).toBe('abc');
    expect(parsed.rows).toBe(1);
  });
  it('accepts an empty list of rows', () => {
    expect(parseJsonBody('{"inputs": []}', 10).rows).toBe(0);
  });
  it('names the column and row of a bad value', () => {
    const row = (v: string): string => `{"inputs": [[1,2,3,4,5,6], [1, 2, ${v}, 4, 5, 6]]}`;
    for (const [v, what] of [
      ['"7"', /Incompatible input types for column 'gdp' at row 1/],
      ['true', /column 'gdp' at row 1.*boolean/],
      ['null', /column 'gdp' at row 1: null/],
      ['NaN', /column 'gdp' at row 1: NaN/],
      ['-Infinity', /column 'gdp' at row 1: -Infinity/],
      ['1e39', /column 'gdp' at row 1: 1e\+39 is outside the float32 range/],
      ['1e400', /column 'gdp' at row 1: Infinity is outside the float32 range/],
    ] as const) {
      const err = jsonError(row(v));
      expect(err.status).toBe(400);
      expect(err.errorCode).toBe('INVALID_PARAMETER_VALUE');
      expect(err.message).toMatch(what);
    }
  });
  it('does not treat NaN inside strings as a token', () => {
    expect(jsonError('{"inputs": [["NaN", 1, 2, 3, 4, 5]]}').message).toMatch(/Incompatible input types for column 'year'.*"NaN"/);
  });
  it('reports a missing column with MLflow wording', () => {
    const { gdp: _gdp, ...rest } = RECORD;
    expect(jsonError(JSON.stringify({ dataframe_records: [rest] })).message).toBe(
      "The input column 'gdp' is required by the model signature but missing from the input data.",
    );
  });
  it('enforces the row limit with 413', () => {
    const err = jsonError(JSON.stringify({ inputs: [ROW, ROW, ROW] }), 2);
    expect(err.status).toBe(413);
  });
  it('rejects lists, missing and duplicate format keys', () => {
    expect(jsonError('[1,2]').message).toMatch(/Received a list/);
    expect(jsonError('{}').message).toMatch(/exactly one of/);
    expect(jsonError(JSON.stringify({ inputs: [ROW], instances: [ROW] })).message).toMatch(/both 'instances' and 'inputs'/);
    expect(jsonError('{"inputs": [').errorCode).toBe('BAD_REQUEST');
  });
});

describe('parseCsvBody', () => {
  it('reads a header row, quoted fields, CRLF and extra columns', () => {
    const csv = `"note",${FEATURES.join(',')}\r\n"a, ""quoted"" note",${ROW.join(',')}\r\nplain,${ROW.join(',')}\r\n`;
    const parsed = parseCsvBody(csv, 10);
    expect(parsed.rows).toBe(2);
    expect(Array.from(parsed.values)).toEqual([...ROW, ...ROW]);
  });
  it('names the column and row of bad cells', () => {
    const header = FEATURES.join(',');
    const bad = (cells: string): string => `${header}\n${ROW.join(',')}\n${cells}\n`;
    const cases: [string, RegExp][] = [
      ['1,2,,4,5,6', /'gdp' at row 1: empty/],
      ['1,2,nan,4,5,6', /'gdp' at row 1: nan is not allowed/],
      ['1,2,0x10,4,5,6', /Incompatible input types for column 'gdp' at row 1/],
      ['1,2,1e40,4,5,6', /'gdp' at row 1: 1e40 is outside the float32 range/],
      ['1,2,3', /CSV row 1 has 3 fields/],
    ];
    for (const [cells, message] of cases) expect(() => parseCsvBody(bad(cells), 10)).toThrow(message);
    expect(() => parseCsvBody('year,gdp\n1,2\n', 10)).toThrow(/'population' is required/);
  });
});
