/**
 * Generated bad input for everything that reads dataset bytes or request bodies: none of
 * it may throw (a bad record is a record error, a bad request a ValidationError), and the
 * splitter must give the same records however the bytes arrive. Bounded runs (seconds).
 */
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseChunk, RecordCursor } from '../../src/shared/formats/record-parser.js';
import { parseCsvRecord } from '../../src/shared/formats/csv.js';
import { parseJsonlRecord } from '../../src/shared/formats/jsonl.js';
import { parseBatchRequest } from '../../src/producer/batch-request.js';
import { Chunker } from '../../src/producer/chunker.js';
import { splitRecords } from '../../src/shared/formats/record-splitter.js';
import type { RawRecord } from '../../src/shared/formats/record-splitter.js';
import { parseCsvRow } from '../../src/shared/formats/csv-row.js';
import { ValidationError } from '../../src/shared/errors.js';
import type { ChunkData, DatasetFormat, ParsedRecord, RecordError } from '../../src/shared/types.js';

const RUNS = { numRuns: 300 };

/** Text that looks like records often enough to reach the deeper branches. */
const recordish = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 80 }),
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  fc
    .record({
      id: fc.oneof(fc.string(), fc.integer(), fc.double(), fc.constant(null)),
      features: fc.array(fc.oneof(fc.double(), fc.string(), fc.constant(null)), { maxLength: 5 }),
    })
    .map((v) => JSON.stringify(v)),
  fc
    .array(fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom('"', '""', ',', '1', '-2.5e3', 'NaN', 'Infinity', '0x10', ' ')), {
      maxLength: 8,
    })
    .map((p) => p.join('')),
);

const header = fc.oneof(fc.constant<string[]>(['id', 'a', 'b']), fc.array(fc.string({ maxLength: 4 }), { maxLength: 4 }));

async function split(pieces: Uint8Array[], format: DatasetFormat, maxRecordChars: number): Promise<RawRecord[]> {
  const out: RawRecord[] = [];
  const source = Readable.from(pieces.map((p) => Buffer.from(p)));
  for await (const batch of splitRecords(source, { format, maxRecordChars })) out.push(...batch);
  return out;
}

/** Cuts `bytes` at the given (sorted, de-duplicated) offsets. */
function cut(bytes: Uint8Array, offsets: number[]): Uint8Array[] {
  const points = [...new Set(offsets.map((o) => o % (bytes.length + 1)))].sort((a, b) => a - b);
  const pieces: Uint8Array[] = [];
  let start = 0;
  for (const p of points) {
    pieces.push(bytes.subarray(start, p));
    start = p;
  }
  pieces.push(bytes.subarray(start));
  return pieces.filter((p) => p.length > 0);
}

/** Dataset bytes: record-like lines, CR/LF mixes, stray bytes (invalid UTF-8 included). */
const datasetBytes = fc.oneof(
  fc.uint8Array({ maxLength: 300 }),
  fc
    .array(fc.tuple(recordish, fc.constantFrom('\n', '\r\n', '\r', '')), { maxLength: 20 })
    .map((lines) => new Uint8Array(Buffer.from(lines.map(([t, nl]) => t + nl).join('')))),
);

describe('record parsers on generated input', () => {
  it('parseJsonlRecord never throws and returns either a valid record or an error', () => {
    fc.assert(
      fc.property(recordish, (text) => {
        const parsed = parseJsonlRecord(text);
        if ('error' in parsed) expect(typeof parsed.error).toBe('string');
        else {
          expect(parsed.features.length).toBeGreaterThan(0);
          expect(parsed.features.every((f) => Number.isFinite(f))).toBe(true);
        }
      }),
      RUNS,
    );
  });

  it('parseCsvRow and parseCsvRecord never throw', () => {
    fc.assert(
      fc.property(recordish, header, (text, cols) => {
        const fields = parseCsvRow(text);
        if (fields) expect(fields.length).toBeGreaterThan(0);
        const parsed = parseCsvRecord(text, cols);
        if (!('error' in parsed)) expect(parsed.features.every((f) => Number.isFinite(f))).toBe(true);
      }),
      RUNS,
    );
  });

  it('parseChunk accounts for every non-blank record once, as a prediction input or an error', () => {
    fc.assert(
      fc.property(
        fc.array(recordish, { maxLength: 30 }),
        fc.constantFrom<DatasetFormat>('jsonl', 'csv'),
        header,
        (records, format, cols) => {
          const chunk: ChunkData = { batchId: 'b', chunkIndex: 0, firstLine: 1, records, format, model: 'sum', outputUrl: 'file:///tmp/x' };
          if (format === 'csv') chunk.header = cols;
          const { records: ok, errors } = parseChunk(chunk);
          expect(ok.length + errors.length).toBe(records.filter((r) => r.trim() !== '').length);
        },
      ),
      RUNS,
    );
  });
  it('a RecordCursor taken a few records at a time gives what parseChunk gives, in line order', () => {
    fc.assert(
      fc.property(fc.array(recordish, { maxLength: 30 }), fc.integer({ min: 1, max: 7 }), (records, step) => {
        const chunk: ChunkData = {
          batchId: 'b',
          chunkIndex: 0,
          firstLine: 1,
          records,
          format: 'jsonl',
          model: 'sum',
          outputUrl: 'file:///tmp/x',
        };
        const cursor = new RecordCursor(chunk);
        const ok: ParsedRecord[] = [];
        const errors: RecordError[] = [];
        while (cursor.remaining > 0) expect(cursor.take(step, ok, errors)).toBeLessThanOrEqual(step);
        expect({ records: ok, errors }).toEqual(parseChunk(chunk));
        expect(errors.map((e) => e.line)).toEqual([...errors.map((e) => e.line)].sort((a, b) => a - b));
      }),
      RUNS,
    );
  });
});

describe('record splitter on generated bytes', () => {
  it('never throws, numbers JSONL lines exactly, and gives the same records however the bytes are cut', async () => {
    await fc.assert(
      fc.asyncProperty(
        datasetBytes,
        fc.array(fc.nat(400), { maxLength: 8 }),
        fc.integer({ min: 4, max: 64 }),
        async (bytes, offsets, max) => {
          const whole = await split([bytes], 'jsonl', max);
          const pieces = await split(cut(bytes, offsets), 'jsonl', max);
          expect(pieces).toEqual(whole);
          whole.forEach((r, i) => expect(r.line).toBe(i + 1));
          for (const r of whole) {
            if (r.rejected) expect(r.text).toBe('');
            else expect(r.text.length).toBeLessThanOrEqual(max);
          }
        },
      ),
      RUNS,
    );
  });

  it('never throws on CSV and keeps line numbers increasing, however the bytes are cut', async () => {
    await fc.assert(
      fc.asyncProperty(
        datasetBytes,
        fc.array(fc.nat(400), { maxLength: 8 }),
        fc.integer({ min: 4, max: 64 }),
        async (bytes, offsets, max) => {
          const whole = await split([bytes], 'csv', max);
          expect(await split(cut(bytes, offsets), 'csv', max)).toEqual(whole);
          for (let i = 1; i < whole.length; i++) expect(whole[i]?.line ?? 0).toBeGreaterThan(whole[i - 1]?.line ?? 0);
        },
      ),
      RUNS,
    );
  });

  it('chunks every record exactly once, whatever the sizes', () => {
    fc.assert(
      fc.property(
        fc.array(recordish, { maxLength: 60 }),
        fc.integer({ min: 1, max: 7 }),
        fc.integer({ min: 1, max: 200 }),
        (texts, chunkSize, maxChunkChars) => {
          const chunker = new Chunker({
            batchId: 'b',
            chunkSize,
            maxChunkChars,
            format: 'jsonl',
            model: 'sum',
            outputUrl: 'file:///tmp/x',
          });
          const chunks: ChunkData[] = [];
          texts.forEach((text, i) => {
            const full = chunker.add({ text, line: i + 1 });
            if (full) chunks.push(full);
          });
          const last = chunker.flush();
          if (last) chunks.push(last);
          expect(chunks.flatMap((c) => c.records!)).toEqual(texts);
          chunks.forEach((c, i) => expect(c.chunkIndex).toBe(i));
          expect(chunks.every((c) => c.records!.length <= chunkSize)).toBe(true);
        },
      ),
      RUNS,
    );
  });
});

describe('request validation on generated bodies', () => {
  const config = {
    chunkSize: 1000,
    model: 'sum',
    modelRoot: '/models',
    outputUrl: 'file:///data/out',
    datasetAllowedSchemes: ['http', 'https'],
  };
  const field = fc.oneof(fc.anything({ maxDepth: 2 }), fc.string({ unit: 'binary', maxLength: 40 }));
  const body = fc.oneof(
    fc.anything({ maxDepth: 3 }),
    fc.jsonValue({ maxDepth: 3 }),
    fc.record(
      {
        datasetUrl: fc.oneof(field, fc.webUrl(), fc.constantFrom('http://127.1/x', 'file:///etc/passwd', 'https://e.com/d.csv')),
        format: field,
        model: fc.oneof(field, fc.constantFrom('sum', 'linear:x.json', 'linear:../x')),
        chunkSize: fc.oneof(field, fc.integer()),
        outputUrl: fc.oneof(field, fc.constantFrom('file:///data/out/a', 'file:///data/out/%2e%2e/x')),
        labels: fc.oneof(field, fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(fc.string(), field), { maxKeys: 4 })),
        idempotencyKey: field,
      },
      { requiredKeys: [] },
    ),
  );

  it('either returns a request or throws a ValidationError naming a field, never anything else', () => {
    fc.assert(
      fc.property(body, (input) => {
        try {
          const request = parseBatchRequest(input, { config });
          expect(typeof request.datasetUrl).toBe('string');
        } catch (err) {
          expect(err).toBeInstanceOf(ValidationError);
          expect(typeof (err as ValidationError).field).toBe('string');
        }
      }),
      { numRuns: 1000 },
    );
  });
});
