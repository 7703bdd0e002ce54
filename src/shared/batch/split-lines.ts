/**
 * Absolute line numbers for split chunks. A consumer reading a split knows its lines only
 * from the split's start, so it writes its record errors with `splitLine` (1-based from the
 * split's start, its `lineBase` included) and, before its chunk is accounted, records here
 * how many lines the split owns. When the batch closes every split is accounted, so prefix
 * sums over each object's splits give each split's first line, and the (few) error files of
 * splits are rewritten with `line`, the 1-based line in the object, and `file` when the
 * batch read a folder. Rewriting is idempotent: a line already rewritten has no `splitLine`.
 *
 * Keys share the batch's hash-tagged prefix (one Redis Cluster slot). Plain commands, no
 * script: each write sets one field to the same value whichever attempt writes it.
 */
import type { Redis } from 'ioredis';
import { redactUrl } from '../observability/redact.js';
import type { OutputSink } from '../io/sinks/output-sink.js';
import type { SplitDescriptor } from '../types.js';
import { batchKeys } from './keys.js';

/** Hash: chunk index → `fileIndex|lines` of each split read, and `file:<fileIndex>` → object URL. */
export const splitLinesKey = (prefix: string, batchId: string): string => `${prefix}:batch:${batchId}:split-lines`;

const ERRORS_FILE = /^errors-(\d+)\.jsonl$/;

/** One input object of a split batch, as the manifest lists it. */
export interface InputObject {
  url: string;
  size: number;
  version: string;
}

const inputOf = (split: SplitDescriptor): InputObject => ({ url: split.source, size: split.size, version: split.version });

/** Where a split's lines start: lines of its object before it, and the object. */
interface SplitPlace {
  linesBefore: number;
  file: string | undefined;
}

export class SplitLineLedger {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly ttlSeconds: number,
  ) {}

  /** Records the lines a split owns (before its chunk is accounted, so the closer finds it). */
  async record(batchId: string, chunkIndex: number, split: SplitDescriptor, lines: number): Promise<void> {
    const key = splitLinesKey(this.prefix, batchId);
    await this.redis
      .multi()
      .hset(key, String(chunkIndex), `${split.fileIndex}|${lines}`, `file:${split.fileIndex}`, JSON.stringify(inputOf(split)))
      .expire(key, this.ttlSeconds)
      .exec();
  }

  /** Each recorded split's place, from prefix sums of line counts over each object's splits in chunk order. */
  private async places(batchId: string): Promise<Map<number, SplitPlace>> {
    const hash = await this.redis.hgetall(splitLinesKey(this.prefix, batchId));
    const splits: { index: number; file: number; lines: number }[] = [];
    for (const [field, value] of Object.entries(hash)) {
      if (field.startsWith('file:')) continue;
      const [file, lines] = value.split('|').map(Number);
      splits.push({ index: Number(field), file: file ?? 0, lines: lines ?? 0 });
    }
    splits.sort((a, b) => a.index - b.index);
    const places = new Map<number, SplitPlace>();
    const before = new Map<number, number>();
    for (const s of splits) {
      const linesBefore = before.get(s.file) ?? 0;
      const input = hash[`file:${s.file}`];
      places.set(s.index, { linesBefore, file: input === undefined ? undefined : (JSON.parse(input) as InputObject).url });
      before.set(s.file, linesBefore + s.lines);
    }
    return places;
  }

  /**
   * Rewrites the split error files among `names` with absolute lines; returns whether the
   * batch had splits at all. `datasetUrl` is the batch's: objects other than it (a folder's)
   * are named in each error line.
   */
  async rewriteErrorFiles(batchId: string, sink: OutputSink, names: readonly string[], datasetUrl: string): Promise<boolean> {
    const places = await this.places(batchId);
    if (places.size === 0) return false;
    for (const name of names) {
      const index = ERRORS_FILE.exec(name)?.[1];
      const place = index === undefined ? undefined : places.get(Number(index));
      if (!place) continue;
      const content = await sink.read(name);
      if (content === undefined) continue;
      let changed = false;
      const rows = content
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => {
          const row = JSON.parse(l) as Record<string, unknown>;
          if (typeof row.splitLine !== 'number') return l;
          changed = true;
          const { splitLine, ...rest } = row;
          const file = place.file !== undefined && place.file !== datasetUrl ? { file: redactUrl(place.file) } : {};
          return JSON.stringify({ ...file, line: place.linesBefore + splitLine, ...rest });
        });
      if (changed) await sink.write(name, rows.join('\n') + '\n');
    }
    return true;
  }

  /** The input objects the batch's splits read, in order, credentials left out of their URLs. */
  async inputs(batchId: string): Promise<InputObject[]> {
    const hash = await this.redis.hgetall(splitLinesKey(this.prefix, batchId));
    return Object.entries(hash)
      .filter(([field]) => field.startsWith('file:'))
      .sort(([a], [b]) => Number(a.slice(5)) - Number(b.slice(5)))
      .map(([, value]) => {
        const input = JSON.parse(value) as InputObject;
        return { ...input, url: redactUrl(input.url) };
      });
  }

  /** The batch's exact record count, known once it closes (planning only estimated it). */
  async setRecordsTotal(batchId: string, total: number): Promise<void> {
    await this.redis.hset(batchKeys(this.prefix, batchId).batch, 'recordsTotal', total, 'recordsRead', total);
  }
}
