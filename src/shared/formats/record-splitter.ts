/**
 * Splits a dataset's byte stream into raw records without parsing them (the consumer
 * parses each record once). JSONL: one record per physical line. CSV: one record per row,
 * where a row continues across lines while a quoted field is open. Every record keeps the
 * 1-based line number it starts on; blank lines are kept as "" so numbering stays exact.
 */
import { StringDecoder } from 'node:string_decoder';
import type { DatasetFormat } from '../types.js';
import { formatNamed } from './registry.js';

export interface RawRecord {
  text: string;
  /** 1-based line number of the record's first line in the dataset. */
  line: number;
  /** Set when the record was refused before parsing (too long); `text` is then "". */
  rejected?: string;
}

export interface SplitOptions {
  format: DatasetFormat;
  /** Longest record kept, in characters; longer ones become rejected records. */
  maxRecordChars: number;
}

function countQuotes(text: string): number {
  let count = 0;
  for (let i = text.indexOf('"'); i !== -1; i = text.indexOf('"', i + 1)) count++;
  return count;
}

/** Yields records in batches (one per input buffer), to keep per-record overhead low. */
export async function* splitRecords(bytes: AsyncIterable<Buffer>, options: SplitOptions): AsyncGenerator<RawRecord[]> {
  const decoder = new StringDecoder('utf8');
  // A record may continue on the next line while a quoted field is open (CSV).
  const multiLine = formatNamed(options.format).multiLineRecords;
  const max = options.maxRecordChars;
  let carry = '';
  let carryTooLong = false;
  let lineNo = 0;
  let first = true;
  // CSV row spanning several lines: its text so far, start line, and quote parity.
  let openRow: string | undefined;
  let openRowLine = 0;
  let openRowQuotes = 0;

  const reject = (line: number): RawRecord => ({ text: '', line, rejected: `record longer than ${max} characters` });

  function pushLine(out: RawRecord[], text: string, tooLong: boolean): void {
    lineNo++;
    if (tooLong || text.length > max) {
      if (openRow !== undefined) {
        out.push(reject(openRowLine));
        openRow = undefined;
      } else out.push(reject(lineNo));
      return;
    }
    if (!multiLine) {
      out.push({ text, line: lineNo });
      return;
    }
    if (openRow !== undefined) {
      openRow += '\n' + text;
      openRowQuotes += countQuotes(text);
      if (openRow.length > max) {
        out.push(reject(openRowLine));
        openRow = undefined;
      } else if (openRowQuotes % 2 === 0) {
        out.push({ text: openRow, line: openRowLine });
        openRow = undefined;
      }
      return;
    }
    const quotes = countQuotes(text);
    if (quotes % 2 === 0) out.push({ text, line: lineNo });
    else {
      openRow = text;
      openRowLine = lineNo;
      openRowQuotes = quotes;
    }
  }

  function takeLines(text: string, out: RawRecord[]): string {
    let start = 0;
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
      const end = nl > start && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
      pushLine(out, text.slice(start, end), carryTooLong);
      carryTooLong = false;
      start = nl + 1;
    }
    return text.slice(start);
  }

  for await (const buffer of bytes) {
    let text = decoder.write(buffer);
    if (first) {
      first = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    const out: RawRecord[] = [];
    carry = takeLines(carry + text, out);
    // A trailing \r may be the first half of a \r\n split across buffers: not the line's.
    if (carry.length - (carry.endsWith('\r') ? 1 : 0) > max) {
      // Drop the overlong line's text as it streams in; only its line number is kept.
      carryTooLong = true;
      carry = '';
    }
    if (out.length > 0) yield out;
  }
  const out: RawRecord[] = [];
  const rest = carry + decoder.end();
  if (rest.length > 0 || carryTooLong) pushLine(out, rest.endsWith('\r') ? rest.slice(0, -1) : rest, carryTooLong);
  if (openRow !== undefined) out.push({ text: openRow, line: openRowLine }); // unclosed quote: the consumer reports it
  if (out.length > 0) yield out;
}
