/**
 * Planning one dataset object into splits: byte ranges of about `chunkSize` records that
 * consumers read themselves, so the dataset never travels through Redis. Planning reads
 * only the object's start (the sample: the CSV header and an estimate of bytes per line),
 * whatever the object's size, so it takes constant time and memory.
 *
 * An object is planned for streaming instead when ranges would split it wrongly or cannot
 * be read: compressed bytes, a source without byte ranges or a version to pin them to, or a
 * CSV whose sample holds a quoted field spanning lines (consumers also check every line
 * they read and fail the chunk, `DATASET_CSV_MULTILINE`, rather than split a row).
 */
import { DatasetError } from '../shared/errors.js';
import { DEFAULT_SCHEMA } from '../shared/formats/record-format.js';
import type { RecordSchema } from '../shared/formats/record-format.js';
import { formatNamed } from '../shared/formats/registry.js';
import type { FormatName } from '../shared/formats/registry.js';
import type { DatasetSource, OpenOptions, SourceStat } from '../shared/io/sources/dataset-source.js';
import type { PlannedObject } from '../shared/batch/split-window.js';

/** Bytes read from an object's start to estimate its bytes per line. */
export const SAMPLE_BYTES = 256 * 1024;
/**
 * Largest split, whatever `chunkSize` asks: a consumer holds one split's text in memory
 * (the streaming path caps a chunk at 4 MiB of text for the same reason, in Redis).
 */
export const MAX_SPLIT_BYTES = 16 * 1024 * 1024;

export interface PlanObjectInput {
  source: DatasetSource;
  url: URL;
  stat: SourceStat;
  format: FormatName;
  schema?: Partial<RecordSchema> | undefined;
  chunkSize: number;
  /** `MAX_LINE_BYTES`: the longest header read. */
  maxLineBytes: number;
  fileIndex: number;
  options: OpenOptions;
}

/** An object planned into splits. */
export interface SplitPlan extends PlannedObject {
  kind: 'splits';
  /** Records the object holds, estimated from the sample (exact once the batch closes). */
  estimatedRecords: number;
}

/** An object that must be streamed, and why (for the log). */
export interface StreamPlan {
  kind: 'stream';
  reason: string;
}

export type ObjectPlan = SplitPlan | StreamPlan;

const stream = (reason: string): StreamPlan => ({ kind: 'stream', reason });
const isGzip = (b: Buffer): boolean => b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;
const hasBom = (b: Buffer): boolean => b.length >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf;

/** Odd quote count: a quoted field opens on this line and closes on another. */
function opensQuote(line: Buffer): boolean {
  let quotes = 0;
  for (let i = line.indexOf(0x22); i !== -1; i = line.indexOf(0x22, i + 1)) quotes++;
  return quotes % 2 === 1;
}

async function readSample(input: PlanObjectInput, size: number, version: string, bytes: number): Promise<Buffer> {
  const { stream: body } = await input.source.open(input.url, {
    ...input.options,
    range: { start: 0, end: Math.min(size, bytes) },
    version,
  });
  const parts: Buffer[] = [];
  for await (const part of body) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

/** One complete line of the sample: its bytes (without the newline) and where the next starts. */
interface SampleLine {
  text: Buffer;
  next: number;
}

/** Complete lines from `from`: terminated by a newline, or the object's last when the sample holds it all. */
function* sampleLines(sample: Buffer, from: number, whole: boolean): Generator<SampleLine> {
  let start = from;
  while (start < sample.length) {
    const nl = sample.indexOf(0x0a, start);
    if (nl === -1) {
      if (whole) yield { text: sample.subarray(start), next: sample.length };
      return;
    }
    yield { text: sample.subarray(start, nl), next: nl + 1 };
    start = nl + 1;
  }
}

const trimCr = (b: Buffer): string => b.toString('utf8').replace(/\r$/, '');

export async function planObject(input: PlanObjectInput): Promise<ObjectPlan> {
  const { stat } = input;
  if (!stat.rangeable) return stream('the source does not serve byte ranges');
  if (stat.version === undefined || stat.size === undefined) return stream('the source gives no version or size to pin ranges to');
  const { size, version } = stat;
  if (/\.gz$/i.test(input.url.pathname)) return stream('compressed');
  const format = formatNamed(input.format);
  let sample = size === 0 ? Buffer.alloc(0) : await readSample(input, size, version, SAMPLE_BYTES);
  if (isGzip(sample)) return stream('compressed');
  const bom = hasBom(sample) ? 3 : 0;
  // Splits of a format without a header start at byte 0 (the consumer drops the BOM there).
  let dataStart = 0;
  let sampleFrom = bom;
  let lineBase = 0;
  let header: string[] | undefined;
  if (format.parseHeader) {
    // The header must be whole: read on, up to the longest line allowed, when it is long.
    if (sample.indexOf(0x0a) === -1 && size > sample.length) {
      sample = await readSample(input, size, version, input.maxLineBytes + bom + 2);
    }
    const whole = sample.length >= size;
    for (const line of sampleLines(sample, bom, whole)) {
      lineBase++;
      dataStart = line.next;
      sampleFrom = line.next;
      const text = trimCr(line.text);
      if (text.trim() === '') continue;
      if (line.text.length > input.maxLineBytes) throw new DatasetError('DATASET_BAD_HEADER', 'header line is too long');
      if (opensQuote(line.text)) return stream('a quoted CSV header field spans lines');
      header = format.parseHeader(text, { ...DEFAULT_SCHEMA, ...input.schema });
      break;
    }
    if (!header) {
      if (whole) throw new DatasetError('DATASET_EMPTY', `${format.name} dataset has no header`);
      throw new DatasetError('DATASET_BAD_HEADER', 'header line is too long');
    }
  }
  let lines = 0;
  let lineBytes = 0;
  for (const line of sampleLines(sample, sampleFrom, sample.length >= size)) {
    if (format.multiLineRecords && opensQuote(line.text)) return stream('a quoted CSV field spans lines');
    lines++;
    lineBytes += line.text.length + 1;
  }
  const bytesPerLine = lines > 0 ? lineBytes / lines : Math.max(1, sample.length - sampleFrom);
  const splitBytes = Math.max(1, Math.min(MAX_SPLIT_BYTES, Math.ceil(bytesPerLine * input.chunkSize)));
  const dataBytes = Math.max(0, size - dataStart);
  const count = Math.ceil(dataBytes / splitBytes);
  const plan: SplitPlan = {
    kind: 'splits',
    source: input.url.toString(),
    version,
    size,
    fileIndex: input.fileIndex,
    dataStart,
    lineBase,
    splitBytes,
    count,
    estimatedRecords: Math.round(dataBytes / bytesPerLine),
  };
  if (header) plan.header = header;
  return plan;
}

/** What the stored plan keeps of an object's plan. */
export function plannedObject(plan: SplitPlan): PlannedObject {
  const object: PlannedObject = {
    source: plan.source,
    version: plan.version,
    size: plan.size,
    fileIndex: plan.fileIndex,
    dataStart: plan.dataStart,
    lineBase: plan.lineBase,
    splitBytes: plan.splitBytes,
    count: plan.count,
  };
  if (plan.header) object.header = plan.header;
  return object;
}
