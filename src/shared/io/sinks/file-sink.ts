/**
 * `file://` outputs (and plain paths): a local folder or a mounted volume. Batches may only
 * write below the process's `OUTPUT_URL`, `..` resolved and symbolic links followed.
 */
import { randomBytes } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { access, constants, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { hasControlCharacter } from '../../control-chars.js';
import { OutputError } from '../../errors.js';
import { existingAncestor, makeFolder } from './make-folder.js';
import type { OutputSink, SinkScheme } from './output-sink.js';

const isMissing = (err: unknown): boolean => (err as NodeJS.ErrnoException).code === 'ENOENT';
const TEMP_MARK = '.tmp-';

/**
 * A local (or mounted) folder. Writes go to a hidden temp file (`.<name>.tmp-<random>`) that
 * is renamed into place, so a reader globbing `part-*` never sees half a part, nor the
 * leftover of a write whose process was killed.
 */
export class FileSink implements OutputSink {
  readonly url: string;
  private ready: Promise<unknown> | undefined;

  constructor(private readonly dir: string) {
    this.url = pathToFileURL(dir).toString();
  }

  private ensureDir(): Promise<unknown> {
    // Created once per sink; a failure is not remembered (the volume may come back).
    this.ready ??= makeFolder(this.dir).catch((err: unknown) => {
      this.ready = undefined;
      throw err;
    });
    return this.ready;
  }

  async write(name: string, content: string): Promise<void> {
    await this.ensureDir();
    const target = path.join(this.dir, name);
    const temp = path.join(this.dir, `.${name}${TEMP_MARK}${randomBytes(6).toString('hex')}`);
    await writeFile(temp, content);
    await rename(temp, target);
  }

  async remove(name: string): Promise<void> {
    // One unlink (rm would lstat first): this runs for every chunk without errors.
    try {
      await unlink(path.join(this.dir, name));
    } catch (err) {
      if (!isMissing(err)) throw err;
    }
  }

  async read(name: string): Promise<string | undefined> {
    try {
      return await readFile(path.join(this.dir, name), 'utf8');
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  async list(): Promise<string[]> {
    try {
      return (await readdir(this.dir)).filter((name) => !name.startsWith('.'));
    } catch (err) {
      if (isMissing(err)) return [];
      throw err;
    }
  }

  async discardIncomplete(): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if (isMissing(err)) return;
      throw err;
    }
    await Promise.all(
      names.filter((n) => n.startsWith('.') && n.includes(TEMP_MARK)).map((n) => rm(path.join(this.dir, n), { force: true })),
    );
  }
}

/** The local path of a `file:` URL, refusing what is not a plain local path. */
function localPath(url: URL): string {
  let file: string;
  try {
    file = fileURLToPath(url);
  } catch (err) {
    // An encoded slash, or a host other than localhost.
    throw new OutputError(`output location is not a local path: ${(err as Error).message}`);
  }
  // A NUL or other control character (even percent-encoded) is never a real folder name.
  if (hasControlCharacter(file)) throw new OutputError('output location contains a control character');
  return path.resolve(file);
}

/** True when `rel` (a `path.relative` result) stays inside its base. */
const staysInside = (rel: string): boolean => rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));

/** True when `candidate` is `root` or lies below it, by its path (`..` resolved, encoded or not). */
export function isWithinRoot(candidate: string, root: string): boolean {
  return staysInside(path.relative(localPath(new URL(root)), localPath(new URL(candidate))));
}

/** The real path of `file`'s deepest existing ancestor, joined with the part that does not exist yet. */
function realPathSoFar(file: string): string {
  let existing = file;
  const rest: string[] = [];
  for (;;) {
    try {
      return path.join(realpathSync(existing), ...rest);
    } catch {
      const parent = path.dirname(existing);
      if (parent === existing) return file;
      rest.unshift(path.basename(existing));
      existing = parent;
    }
  }
}

/**
 * True when `candidate` still lies inside `root` once symbolic links are followed, as far
 * as the folders exist on this machine: a link inside the output root that points out of
 * it must not carry a batch's output elsewhere. Where the producer does not mount the
 * output volume, this is the same as {@link isWithinRoot}.
 */
export function isReallyWithinRoot(candidate: string, root: string): boolean {
  const c = realPathSoFar(localPath(new URL(candidate)));
  const r = realPathSoFar(localPath(new URL(root)));
  return staysInside(path.relative(r, c));
}

const notWritable = (dir: string, why: string, cause?: unknown): OutputError =>
  new OutputError(`output folder ${dir} is not writable: ${why}`, { code: 'OUTPUT_NOT_WRITABLE', cause });

export const fileSinkScheme: SinkScheme = {
  schemes: ['file'],
  normalise: (url) => pathToFileURL(localPath(url)).toString(),
  contains: (root, candidate) => isWithinRoot(candidate, root) && isReallyWithinRoot(candidate, root),
  child: (url, name) => pathToFileURL(path.join(fileURLToPath(url), name)).toString(),
  open: (url) => new FileSink(fileURLToPath(url)),
  /**
   * The folder, or the deepest part of it that exists, must be a folder this process may
   * write into: `--output /proc/x`, a file where a folder should be, or a read-only folder
   * fail here, before any batch starts.
   */
  async checkWritable(url) {
    const dir = fileURLToPath(url);
    let base: string;
    try {
      base = await existingAncestor(dir);
    } catch (err) {
      throw notWritable(dir, (err as Error).message, err);
    }
    const info = await stat(base);
    if (!info.isDirectory()) throw notWritable(dir, `${base} is not a folder`);
    try {
      await access(base, constants.W_OK | constants.X_OK);
    } catch (err) {
      throw notWritable(dir, `no permission to write into ${base}`, err);
    }
    // Some file systems (/proc, /sys, read-only mounts) pass the permission check and refuse
    // the write: try one, where the batch folders will be made.
    const probe = path.join(base, `.batchinfer-probe-${randomBytes(6).toString('hex')}`);
    try {
      await writeFile(probe, '');
      await unlink(probe);
    } catch (err) {
      throw notWritable(dir, (err as Error).message, err);
    }
  },
};
