import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { OutputSink } from './output-sink.js';

const isMissing = (err: unknown): boolean => (err as NodeJS.ErrnoException).code === 'ENOENT';

/** A local (or mounted) folder. Writes go to a temp file that is renamed into place. */
export class FileSink implements OutputSink {
  readonly url: string;
  private ready: Promise<unknown> | undefined;

  constructor(private readonly dir: string) {
    this.url = pathToFileURL(dir).toString();
  }

  private ensureDir(): Promise<unknown> {
    this.ready ??= mkdir(this.dir, { recursive: true });
    return this.ready;
  }

  async write(name: string, content: string): Promise<void> {
    await this.ensureDir();
    const target = path.join(this.dir, name);
    const temp = `${target}.tmp-${randomBytes(6).toString('hex')}`;
    await writeFile(temp, content);
    await rename(temp, target);
  }

  async remove(name: string): Promise<void> {
    await rm(path.join(this.dir, name), { force: true });
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
      return (await readdir(this.dir)).filter((name) => !name.includes('.tmp-'));
    } catch (err) {
      if (isMissing(err)) return [];
      throw err;
    }
  }
}
