import { describe, expect, it } from 'vitest';
import { parseChunk, parseCsvRecord, parseJsonlRecord } from '../../src/shared/formats/record-parser.js';
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
    ['{"id": 1, "features": [1, 2', 'invalid JSON'],
    ['[1,2]', 'not a JSON object'],
    ['{"features": [1]}', 'no id'],
    ['{"id": "", "features": [1]}', 'no id'],
    ['{"id": 1, "features": []}', 'features'],
    ['{"id": 1, "features": [1, "2"]}', 'features'],
    ['{"id": 1, "features": [1e400]}', 'features'],
    ['null', 'not a JSON object'],
  ])('refuses %s', (text, fragment) => {
    const parsed = parseJsonlRecord(text);
    expect('error' in parsed && parsed.error).toContain(fragment);
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
    expect(parseCsvRecord('x,r1,2', ['f1', 'id', 'f2'])).toMatchObject({ id: 'r1', error: "column 'f1' is not a number" });
    expect(parseCsvRecord('1,2', ['f1', 'id', 'f2'])).toMatchObject({ error: 'expected 3 columns, got 2' });
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
    expect(out.errors).toEqual([{ line: 5, error: 'too long' }]);
  });
});
