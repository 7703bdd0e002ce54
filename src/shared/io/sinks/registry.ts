/**
 * Output schemes, one line each, and the rules every output follows whatever its scheme: a
 * location is normalised once; a batch writes only below the process's own `OUTPUT_URL`
 * (checked where the writing happens: chunk parts, error files and the manifest alike).
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { OutputError, OutputRefusedError } from '../../errors.js';
import { fileSinkScheme } from './file-sink.js';
import { PLAIN_BATCH_ID } from './output-layout.js';
import type { OutputSink, SinkScheme } from './output-sink.js';
import { s3SinkScheme } from './s3-sink.js';

export const SINK_SCHEMES: readonly SinkScheme[] = [fileSinkScheme, s3SinkScheme];

const HAS_SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;

function parseLocation(location: string): { url: URL; scheme: SinkScheme } {
  let url: URL;
  try {
    // A plain path is a local folder.
    url = HAS_SCHEME.test(location) ? new URL(location) : pathToFileURL(path.resolve(location));
  } catch {
    throw new OutputError(`output location is not a URL or path: ${location}`);
  }
  const name = url.protocol.replace(/:$/, '');
  const scheme = SINK_SCHEMES.find((s) => s.schemes.includes(name));
  if (!scheme) {
    const known = SINK_SCHEMES.flatMap((s) => s.schemes.map((n) => `${n}://`)).join(', ');
    throw new OutputError(`output scheme ${name}:// is not supported (use ${known} or a path)`);
  }
  return { url, scheme };
}

const schemeOf = (normalised: string): SinkScheme => parseLocation(normalised).scheme;

/** A folder path or URL as its canonical URL (no trailing slash). Throws {@link OutputError}. */
export function normaliseOutputUrl(location: string): string {
  const { url, scheme } = parseLocation(location);
  return scheme.normalise(url);
}

/** True when the location `candidate` is `root` or lies below it (same scheme, its rule). */
export function outputWithin(root: string, candidate: string): boolean {
  const r = normaliseOutputUrl(root);
  const c = normaliseOutputUrl(candidate);
  const scheme = schemeOf(r);
  return scheme === schemeOf(c) && scheme.contains(r, c);
}

/** The URL of a batch's own folder, `<outputUrl>/<batchId>` (no I/O, no check). */
export function batchFolderUrl(outputUrl: string, batchId: string): string {
  const root = normaliseOutputUrl(outputUrl);
  return schemeOf(root).child(root, batchId);
}

/**
 * The sink of one batch, `<outputUrl>/<batchId>/`, after checking that it lies inside
 * `root` (the process's `OUTPUT_URL`) and that the batch id names one folder; else
 * {@link OutputRefusedError}. The producer checks requests against the same rule; this keeps
 * a chunk written to Redis by anyone else from directing writes anywhere.
 */
export function openBatchSink(outputUrl: string, batchId: string, root: string): OutputSink {
  if (!PLAIN_BATCH_ID.test(batchId)) throw new OutputRefusedError(`batch id ${JSON.stringify(batchId)} is not a plain folder name`);
  let inside: boolean;
  try {
    inside = outputWithin(root, outputUrl);
  } catch {
    inside = false; // not a usable location at all
  }
  if (!inside) throw new OutputRefusedError(`output location ${String(outputUrl)} is outside this process's OUTPUT_URL ${root}`);
  const folder = batchFolderUrl(outputUrl, batchId);
  return schemeOf(folder).open(folder);
}

/**
 * The sink of a batch by its own folder (`BatchView.output.url`, `<outputUrl>/<batchId>`),
 * under the same rules as {@link openBatchSink}.
 */
export function openBatchFolder(folder: string, batchId: string, root: string): OutputSink {
  if (!folder.endsWith(`/${batchId}`)) throw new OutputRefusedError(`output folder ${folder} is not the folder of batch ${batchId}`);
  return openBatchSink(folder.slice(0, -(batchId.length + 1)), batchId, root);
}

/** Checks that outputs can be written below `location` now; throws `OutputError` (`OUTPUT_NOT_WRITABLE`). */
export async function checkOutputWritable(location: string): Promise<void> {
  const url = normaliseOutputUrl(location);
  await schemeOf(url).checkWritable(url);
}
