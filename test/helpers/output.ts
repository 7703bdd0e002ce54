/**
 * Reads a batch's output folder and checks the invariant users rely on: records in =
 * succeeded + failed, and every input record appears exactly once across the part files
 * and the error files, whatever was retried on the way.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'vitest';
import type { Manifest } from '../../src/shared/batch-closer.js';

export interface BatchOutput {
  dir: string;
  predictions: { id: string | number; prediction: unknown }[];
  errors: { line: number; id?: string | number; error: string }[];
  manifest: Manifest | undefined;
  files: string[];
}

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
  const out: BatchOutput = { dir, predictions: [], errors: [], manifest: undefined, files };
  for (const name of files) {
    if (name.startsWith('part-')) out.predictions.push(...(await readJsonl<BatchOutput['predictions'][number]>(path.join(dir, name))));
    else if (name.startsWith('errors-')) out.errors.push(...(await readJsonl<BatchOutput['errors'][number]>(path.join(dir, name))));
    else if (name === 'manifest.json') out.manifest = JSON.parse(await readFile(path.join(dir, name), 'utf8')) as Manifest;
  }
  return out;
}

/**
 * Every expected id predicted exactly once with its expected value, every bad line reported
 * exactly once, nothing else anywhere.
 */
export function expectEveryRecordOnce(
  out: BatchOutput,
  expected: Map<string | number, number>,
  badLines: readonly number[],
): void {
  const seen = new Map<string | number, number>();
  for (const p of out.predictions) seen.set(p.id, (seen.get(p.id) ?? 0) + 1);
  const duplicates = [...seen].filter(([, n]) => n > 1).map(([id]) => id);
  expect(duplicates, 'ids predicted more than once').toEqual([]);
  const missing = [...expected.keys()].filter((id) => !seen.has(id));
  expect(missing.slice(0, 20), 'ids never predicted').toEqual([]);
  expect(out.predictions.length).toBe(expected.size);
  for (const p of out.predictions) expect(p.prediction).toBeCloseTo(expected.get(p.id) ?? NaN, 9);
  const errorLines = out.errors.map((e) => e.line).sort((a, b) => a - b);
  expect(errorLines).toEqual([...badLines].sort((a, b) => a - b));
  if (out.manifest) {
    expect(out.manifest.counts.records.succeeded).toBe(expected.size);
    expect(out.manifest.counts.records.failed).toBe(badLines.length);
    expect(out.manifest.total_records).toBe(expected.size + badLines.length);
  }
}
