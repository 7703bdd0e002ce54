import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { OutputSink } from './output-sink.js';

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
    this.ready ??= mkdir(this.dir, { recursive: true }).catch((err: unknown) => {
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
