/**
 * Reads a batch's output folder and checks the invariant users rely on: records in =
 * succeeded + failed, and every input record appears exactly once across the part files
 * and the error files, whatever was retried on the way.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'vitest';
import type { Manifest } from '../../src/shared/batch/batch-closer.js';
import type { BatchView } from '../../src/shared/types.js';

export interface BatchOutput {
  dir: string;
  predictions: { id: string | number; prediction: unknown }[];
  errors: { line: number; id?: string | number; error: string }[];
  manifest: Manifest | undefined;
  files: string[];
  /** Files that are none of parts, error files and the manifest (e.g. a crashed write's leftovers). */
  strays: string[];
}

const PART = /^part-\d{5,}\.jsonl$/;
const ERRORS = /^errors-\d{5,}\.jsonl$/;

async function readJsonl<T>(file: string): Promise<T[]> {
  const text = await readFile(file, 'utf8');
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as T);
}

export async function readBatchOutput(outputDir: string, batchId: string): Promise<BatchOutput> {
  const dir = path.join(outputDir, batchId);
  const files = (await readdir(dir)).sort();
  const out: BatchOutput = { dir, predictions: [], errors: [], manifest: undefined, files, strays: [] };
  for (const name of files) {
    if (PART.test(name)) out.predictions.push(...(await readJsonl<BatchOutput['predictions'][number]>(path.join(dir, name))));
    else if (ERRORS.test(name)) out.errors.push(...(await readJsonl<BatchOutput['errors'][number]>(path.join(dir, name))));
    else if (name === 'manifest.json') out.manifest = JSON.parse(await readFile(path.join(dir, name), 'utf8')) as Manifest;
    else out.strays.push(name);
  }
  return out;
}

export interface RecordExpectations {
  /**
   * Ids whose chunk failed for good: each must appear exactly once in an error file (with the
   * chunk's failure as the reason) and never among the predictions.
   */
  failedIds?: Iterable<string | number>;
  /** The batch as the status API reports it: its counts must add up to the records in. */
  view?: Pick<BatchView, 'records'>;
}

/**
 * The output invariant, whatever crashed and was retried on the way: records in = succeeded
 * + failed, every expected id predicted exactly once with its expected value (or, for ids of
 * failed chunks, reported exactly once as an error), every bad line reported exactly once,
 * and nothing else anywhere: no duplicate, no leftover of an interrupted write.
 */
export function expectEveryRecordOnce(
  out: BatchOutput,
  expected: Map<string | number, number>,
  badLines: readonly number[],
  options: RecordExpectations = {},
): void {
  const failedIds = new Set(options.failedIds ?? []);
  expect(out.strays, 'files that are not parts, error files or the manifest').toEqual([]);
  const seen = new Map<string | number, number>();
  for (const p of out.predictions) seen.set(p.id, (seen.get(p.id) ?? 0) + 1);
  const duplicates = [...seen].filter(([, n]) => n > 1).map(([id]) => id);
  expect(duplicates.slice(0, 20), 'ids predicted more than once').toEqual([]);
  const predicted = [...expected.keys()].filter((id) => !failedIds.has(id));
  const missing = predicted.filter((id) => !seen.has(id));
  expect(missing.slice(0, 20), 'ids never predicted').toEqual([]);
  const unexpected = [...seen.keys()].filter((id) => !expected.has(id) || failedIds.has(id));
  expect(unexpected.slice(0, 20), 'ids predicted that should not be').toEqual([]);
  expect(out.predictions.length).toBe(predicted.length);
  for (const p of out.predictions) expect(p.prediction).toBeCloseTo(expected.get(p.id) ?? NaN, 9);

  const chunkFailures = out.errors.filter((e) => e.id !== undefined && failedIds.has(e.id));
  const recordErrors = out.errors.filter((e) => !(e.id !== undefined && failedIds.has(e.id)));
  expect(recordErrors.map((e) => e.line).sort((a, b) => a - b)).toEqual([...badLines].sort((a, b) => a - b));
  expect(chunkFailures.map((e) => e.id).sort(), 'records of failed chunks, each reported once').toEqual([...failedIds].sort());
  for (const e of chunkFailures) expect(e.error).toMatch(/^chunk failed: /);

  const succeeded = predicted.length;
  const failed = badLines.length + failedIds.size;
  if (out.manifest) {
    expect(out.manifest.counts.records.succeeded).toBe(succeeded);
    expect(out.manifest.counts.records.failed).toBe(failed);
    expect(out.manifest.total_records).toBe(succeeded + failed);
  }
  if (options.view) {
    expect(options.view.records).toMatchObject({ total: succeeded + failed, read: succeeded + failed, succeeded, failed });
  }
}
