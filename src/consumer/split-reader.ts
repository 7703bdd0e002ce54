/**
 * Reading one split: the lines that start in its byte range, from the object's bytes,
 * pinned to the version it was planned on. The rule (Hadoop's LineRecordReader): a split
 * owns every line whose first byte lies in `[start, end)`. So it reads from `start - 1`,
 * drops everything up to the first newline there (the line it is in belongs to the split
 * before; when that byte is itself a newline, nothing of the split's own is dropped), and
 * reads past `end` to finish its last line. Every line belongs to exactly one split.
 */
import { isAscii } from 'node:buffer';
import { DatasetError } from '../shared/errors.js';
import type { OpenOptions } from '../shared/io/sources/dataset-source.js';
import { sourceFor } from '../shared/io/sources/registry.js';
import type { SplitDescriptor } from '../shared/types.js';

/**
 * Bytes asked for past `end`, to finish the last line in the same request most of the time:
 * a sixteenth of the split, between 4 and 64 KiB (a 44 kB split asking 64 KiB more read and
 * decoded 2.5 times its bytes). A longer last line takes more requests, each asking double.
 */
const overreadBytes = (split: SplitDescriptor): number =>
  Math.min(64 * 1024, Math.max(4 * 1024, Math.ceil((split.end - split.start) / 16)));

export interface SplitReadOptions extends OpenOptions {
  allowedSchemes: readonly string[];
  /** `MAX_LINE_BYTES`: longer lines become rejected records. */
  maxLineBytes: number;
}

/** The split's lines as the chunk's records (the streaming path's shape). */
export interface SplitText {
  records: string[];
  /** Lines refused before parsing (too long): their index in `records` and why. */
  rejected: { index: number; error: string }[];
}

/** Collects the lines of a split as they stream in. */
class LineCollector {
  readonly records: string[] = [];
  readonly rejected: { index: number; error: string }[] = [];
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private tooLong = false;
  /** Absolute offset where the line being collected starts. */
  lineStart: number;
  /** Still dropping the line that began before the split. */
  skipping: boolean;
  done = false;

  constructor(
    private readonly split: SplitDescriptor,
    readStart: number,
    private readonly maxLineBytes: number,
  ) {
    this.lineStart = readStart;
    this.skipping = split.start > 0;
  }

  /** Takes bytes read at absolute offset `at`. */
  push(bytes: Buffer, at: number): void {
    if (this.pendingBytes === 0 && !this.tooLong && isAscii(bytes)) {
      this.pushAscii(bytes, at);
      return;
    }
    let from = 0;
    while (!this.done && from < bytes.length) {
      const nl = bytes.indexOf(0x0a, from);
      if (nl === -1) {
        this.keep(bytes.subarray(from));
        return;
      }
      if (this.pendingBytes === 0 && !this.tooLong && !this.skipping && nl - from <= this.maxLineBytes + 1) {
        // The whole line is in this buffer; decode it in place, no copy.
        this.endLine(at + nl + 1, bytes, from, nl);
      } else {
        this.keep(bytes.subarray(from, nl));
        this.endLine(at + nl + 1);
      }
      from = nl + 1;
    }
  }

  /**
   * The common case: ASCII bytes (a byte is a character), decoded once for the whole buffer;
   * each line is then a slice of that text, not a decode of its own (a third of the read's
   * cost on a 1M-record run).
   */
  private pushAscii(bytes: Buffer, at: number): void {
    const text = bytes.toString('latin1');
    let from = 0;
    while (!this.done && from < text.length) {
      const nl = text.indexOf('\n', from);
      if (nl === -1) {
        this.keep(bytes.subarray(from));
        return;
      }
      if (this.skipping) this.skipping = false;
      else if (this.lineStart >= this.split.end) {
        this.done = true;
        return;
      } else {
        const end = nl > from && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
        this.add(text.slice(from, end), end - from);
      }
      this.lineStart = at + nl + 1;
      if (this.lineStart >= this.split.end) this.done = true;
      from = nl + 1;
    }
  }

  /** The object ended: its last line may lack a newline. */
  finish(): void {
    // A file holding only a byte-order mark has no line (as the streaming path reads it).
    const onlyBom = this.lineStart === 0 && this.pendingBytes === 3 && Buffer.concat(this.pending).toString('utf8') === '\uFEFF';
    if (!this.done && !this.skipping && !onlyBom && this.pendingBytes + (this.tooLong ? 1 : 0) > 0) this.emit();
    this.done = true;
  }

  private keep(part: Buffer): void {
    if (this.skipping || part.length === 0) return;
    this.pendingBytes += part.length;
    if (this.pendingBytes > this.maxLineBytes + 1) {
      // Only the line's place is kept, not its text (as the streaming path does).
      this.tooLong = true;
      this.pending = [];
    } else this.pending.push(part);
  }

  private endLine(next: number, whole?: Buffer, from = 0, to = 0): void {
    if (this.skipping) this.skipping = false;
    else this.emit(whole, from, to);
    this.lineStart = next;
    if (next >= this.split.end) this.done = true;
  }

  /** Emits the pending line, or `whole[from, to)` when the line is all in one buffer. */
  private emit(whole?: Buffer, from = 0, to = 0): void {
    if (this.lineStart >= this.split.end) {
      this.done = true;
      return;
    }
    let text = whole
      ? whole.toString('utf8', from, to)
      : Buffer.concat(this.pending, this.tooLong ? 0 : this.pendingBytes).toString('utf8');
    if (text.endsWith('\r')) text = text.slice(0, -1);
    if (this.lineStart === 0 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    // A UTF-16 unit takes at most 3 UTF-8 bytes: short lines need no byte count.
    const long = this.tooLong || (text.length * 3 > this.maxLineBytes && Buffer.byteLength(text) > this.maxLineBytes);
    this.add(text, long ? Infinity : 0);
    this.pending = [];
    this.pendingBytes = 0;
    this.tooLong = false;
  }

  /** Adds a line's text (without its `\r`), or refuses it when its `bytes` are over the limit. */
  private add(text: string, bytes: number): void {
    if (bytes > this.maxLineBytes) {
      this.rejected.push({ index: this.records.length, error: `record longer than ${this.maxLineBytes} bytes` });
      this.records.push('');
    } else this.records.push(text);
  }
}

/** Reads the records (lines) a split owns. */
export async function readSplit(split: SplitDescriptor, options: SplitReadOptions): Promise<SplitText> {
  const url = new URL(split.source);
  const source = sourceFor(url, options.allowedSchemes);
  const readStart = split.start > 0 ? split.start - 1 : 0;
  const lines = new LineCollector(split, readStart, options.maxLineBytes);
  let at = readStart;
  // Ask for the range and a little more; a last line longer than that takes more requests.
  for (let ask = overreadBytes(split); !lines.done && at < split.size; ask *= 2) {
    const range = { start: at, end: Math.min(split.size, Math.max(split.end, at) + ask) };
    const readOptions = { ...options, range, version: split.version };
    if (source.readRange) {
      const bytes = await source.readRange(url, readOptions);
      lines.push(bytes, at);
      at += bytes.length;
    } else {
      const { stream } = await source.open(url, readOptions);
      try {
        for await (const bytes of stream) {
          lines.push(bytes as Buffer, at);
          at += (bytes as Buffer).length;
          if (lines.done) break;
        }
      } finally {
        stream.destroy();
      }
    }
    if (!lines.done && at < range.end) {
      throw new DatasetError('DATASET_CHANGED', `dataset ${url.protocol}//${url.host}${url.pathname} ended before its planned size`);
    }
  }
  lines.finish();
  return { records: lines.records, rejected: lines.rejected };
}
