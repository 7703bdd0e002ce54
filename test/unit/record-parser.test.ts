import { describe, expect, it } from 'vitest';
import { parseChunk } from '../../src/shared/formats/record-parser.js';
import { parseCsvRecord } from '../../src/shared/formats/csv.js';
import { parseJsonlRecord } from '../../src/shared/formats/jsonl.js';
import { parseCsvRow } from '../../src/shared/formats/csv-row.js';
import type { ChunkData } from '../../src/shared/types.js';

const chunk = (records: string[], extra: Partial<ChunkData> = {}): ChunkData => ({
  batchId: 'b',
  chunkIndex: 0,
  firstLine: 10,
  records,
  format: 'jsonl',
  model: 'sum',
  outputUrl: 'file:///tmp/x',
  ...extra,
});

describe('parseJsonlRecord', () => {
  it('accepts the reference format', () => {
    expect(parseJsonlRecord('{"id": 1, "features": [1.0, 2.0, 3.0]}')).toEqual({ id: 1, features: [1, 2, 3] });
  });

  it.each([
    ['{"id": 1, "features": [1, 2', 'INVALID_JSON'],
    ['[1,2]', 'NOT_AN_OBJECT'],
    ['{"features": [1]}', 'MISSING_ID'],
    ['{"id": "", "features": [1]}', 'MISSING_ID'],
    ['{"id": 1, "features": []}', 'INVALID_FEATURES'],
    ['{"id": 1, "features": [1, "2"]}', 'INVALID_FEATURES'],
    ['{"id": 1, "features": [1e400]}', 'INVALID_FEATURES'],
    ['null', 'NOT_AN_OBJECT'],
  ])('refuses %s with %s', (text, code) => {
    expect(parseJsonlRecord(text)).toMatchObject({ code });
  });

  it('keeps the id of a record whose features are wrong', () => {
    expect(parseJsonlRecord('{"id": 7, "features": "x"}')).toMatchObject({ id: 7 });
  });
});

describe('parseCsvRow and parseCsvRecord', () => {
  it('splits quoted fields with commas, escaped quotes and newlines', () => {
    expect(parseCsvRow('a,"b,c","d""e","f\ng",')).toEqual(['a', 'b,c', 'd"e', 'f\ng', '']);
  });

  it('refuses unbalanced quotes and text after a closing quote', () => {
    expect(parseCsvRow('"abc')).toBeUndefined();
    expect(parseCsvRow('"a"b,c')).toBeUndefined();
    expect(parseCsvRow('a"b,c')).toBeUndefined();
  });

  it('maps the id column and every other column to numeric features in order', () => {
    expect(parseCsvRecord('1.5,r1,2', ['f1', 'id', 'f2'])).toEqual({ id: 'r1', features: [1.5, 2] });
    expect(parseCsvRecord('x,r1,2', ['f1', 'id', 'f2'])).toMatchObject({ id: 'r1', code: 'NOT_A_NUMBER' });
    expect(parseCsvRecord('1,2', ['f1', 'id', 'f2'])).toMatchObject({ code: 'WRONG_COLUMN_COUNT' });
  });
});

describe('parseChunk', () => {
  it('gives each record and each error its dataset line number, skipping blank lines', () => {
    const out = parseChunk(chunk(['{"id":1,"features":[1]}', '', 'oops', '{"id":2,"features":[2]}']));
    expect(out.records.map((r) => [r.id, r.line])).toEqual([
      [1, 10],
      [2, 13],
    ]);
    expect(out.errors.map((e) => e.line)).toEqual([12]);
  });

  it('uses explicit line numbers and reports rejected records', () => {
    const out = parseChunk(
      chunk(['1,2', '', '3,4'], { format: 'csv', header: ['id', 'a'], lines: [2, 5, 6], rejected: [{ index: 1, error: 'too long' }] }),
    );
    expect(out.records.map((r) => r.line)).toEqual([2, 6]);
    expect(out.errors).toEqual([{ line: 5, code: 'RECORD_TOO_LONG', error: 'too long' }]);
  });
});

describe('named columns', () => {
  const schema = { features: ['sepal_length', 'petal_width'], idField: 'row', keep: ['species', 'note'] };

  it('picks JSONL fields by name, keeps ids as JSON types, copies kept fields (absent ones left out)', () => {
    const out = parseChunk(
      chunk(
        [
          '{"row": 7, "sepal_length": 5.1, "petal_width": 0.2, "species": "setosa", "note": {"a": 1}}',
          '{"row": "r2", "petal_width": 1, "sepal_length": 6, "species": "virginica"}',
          '{"row": 9, "sepal_length": 5.1, "species": "setosa"}',
          '{"row": 10, "sepal_length": "5", "petal_width": 1}',
        ],
        { schema },
      ),
    );
    expect(out.records).toEqual([
      { id: 7, features: [5.1, 0.2], line: 10, input: { species: 'setosa', note: { a: 1 } } },
      { id: 'r2', features: [6, 1], line: 11, input: { species: 'virginica' } },
    ]);
    expect(out.errors).toMatchObject([
      { line: 12, id: 9, code: 'MISSING_FEATURE' },
      { line: 13, id: 10, code: 'NOT_A_NUMBER' },
    ]);
  });

  it('picks CSV columns by name; other columns may hold text; ids are text', () => {
    const header = ['row', 'species', 'sepal_length', 'petal_width', 'note'];
    const out = parseChunk(
      chunk(['1,setosa,5.1,0.2,"a, b"', '2,virginica,x,1,', '3,versicolor,6,1.5,ok'], { format: 'csv', header, schema }),
    );
    expect(out.records).toEqual([
      { id: '1', features: [5.1, 0.2], line: 10, input: { species: 'setosa', note: 'a, b' } },
      { id: '3', features: [6, 1.5], line: 12, input: { species: 'versicolor', note: 'ok' } },
    ]);
    expect(out.errors).toMatchObject([{ line: 11, id: '2', code: 'NOT_A_NUMBER' }]);
  });

  it('refuses a CSV header that lacks a named column, naming it', async () => {
    const { csvFormat } = await import('../../src/shared/formats/csv.js');
    let thrown: unknown;
    try {
      csvFormat.parseHeader?.('row,species,sepal_length', schema);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toMatchObject({ code: 'DATASET_MISSING_COLUMN' });
    expect((thrown as Error).message).toContain("'petal_width'");
  });
});
