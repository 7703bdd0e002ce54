/** Test datasets written to real files, with the ids and bad lines they contain. */
import { writeFile } from 'node:fs/promises';

export interface GeneratedDataset {
  path: string;
  /** Ids of the well-formed records, with their expected `sum` prediction. */
  expected: Map<string | number, number>;
  /** 1-based line numbers of malformed lines. */
  badLines: number[];
  /** Non-blank lines: records in = succeeded + failed. */
  records: number;
}

/**
 * `count` JSONL lines; every line whose number is in `bad` is malformed in one of several
 * ways (broken JSON, missing id, non-numeric features), and every `blankEvery`-th line blank.
 * Record ids are `r<line>`; `features` overrides a record's features (e.g. to plant a value a
 * drill model fails on).
 */
export async function writeJsonlDataset(
  path: string,
  count: number,
  options: { bad?: (line: number) => boolean; blankEvery?: number; features?: (line: number) => number[] } = {},
): Promise<GeneratedDataset> {
  const expected = new Map<string | number, number>();
  const badLines: number[] = [];
  const lines: string[] = [];
  const malformed = [
    '{"id": 1, "features": [1, 2',
    '{"features": [1, 2, 3]}',
    '{"id": "x", "features": ["a"]}',
    'not json at all',
    '[1, 2, 3]',
  ];
  let records = 0;
  for (let line = 1; line <= count; line++) {
    if (options.blankEvery && line % options.blankEvery === 0) {
      lines.push('');
      continue;
    }
    records++;
    if (options.bad?.(line)) {
      badLines.push(line);
      lines.push(malformed[line % malformed.length] ?? 'bad');
      continue;
    }
    const features = options.features?.(line) ?? [line % 10, (line * 7) % 13, 0.5, -1];
    expected.set(
      `r${line}`,
      features.reduce((a, b) => a + b, 0),
    );
    lines.push(JSON.stringify({ id: `r${line}`, features }));
  }
  await writeFile(path, lines.join('\n') + '\n');
  return { path, expected, badLines, records };
}
