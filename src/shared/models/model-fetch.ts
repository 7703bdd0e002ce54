/**
 * Brings a model file's bytes into the process: from `MODEL_ROOT`, or by URL (`https://`,
 * `s3://`) through the dataset sources, so the same SSRF address policy applies. Every model
 * is hashed; a pinned digest (`MODEL_SHA256`, `?sha256=`) that does not match fails the load
 * before any record is scored. Downloads are cached per pod in `MODEL_CACHE_DIR` by digest,
 * so a pinned model is fetched once per pod, not once per consumer process.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DatasetError, DatasetRefusedError, ModelError } from '../errors.js';
import { sourceFor } from '../io/sources/registry.js';
import type { ModelRuntimeOptions } from './model.js';

/** Where a model file is: a file under `MODEL_ROOT`, or a URL. */
export type ModelLocation = { kind: 'file'; path: string } | { kind: 'url'; url: URL };

export interface FetchedModel {
  bytes: Buffer;
  /** Hex SHA-256 of `bytes`. */
  sha256: string;
}

/** Schemes a model URL may have. */
export const MODEL_URL_SCHEMES = ['https', 'http', 's3'];
/** Largest model file read into memory. */
const MAX_MODEL_BYTES = 2 * 1024 ** 3;
const FETCH_IDLE_MS = 30_000;

const sha256Of = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

function checkPin(name: string, sha256: string, pin: string | undefined): void {
  if (pin !== undefined && sha256 !== pin) {
    throw new ModelError(`model ${name} has sha256 ${sha256}, but ${pin} is pinned (MODEL_SHA256 or ?sha256=); nothing was scored`);
  }
}

async function readLocal(name: string, file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'MODEL_NOT_FOUND' : 'MODEL_INVALID';
    throw new ModelError(`cannot read model ${name} (${file}): ${(err as Error).message}`, { cause: err, code });
  }
}

async function download(name: string, url: URL, runtime: ModelRuntimeOptions): Promise<Buffer> {
  try {
    const source = sourceFor(url, MODEL_URL_SCHEMES);
    const { stream } = await source.open(url, {
      signal: new AbortController().signal,
      idleTimeoutMs: FETCH_IDLE_MS,
      allowPrivateNetworks: runtime.allowPrivateNetworks,
      allowedCidrs: runtime.allowedCidrs,
      retries: 2,
    });
    const parts: Buffer[] = [];
    let size = 0;
    for await (const part of stream) {
      const buf = part as Buffer;
      size += buf.length;
      if (size > MAX_MODEL_BYTES) {
        stream.destroy();
        throw new ModelError(`model ${name} is larger than ${MAX_MODEL_BYTES} bytes`);
      }
      parts.push(buf);
    }
    return Buffer.concat(parts);
  } catch (err) {
    if (err instanceof ModelError) throw err;
    if (err instanceof DatasetRefusedError) throw new ModelError(`model ${name} refused: ${err.message}`, { cause: err });
    if (err instanceof DatasetError && err.code === 'DATASET_NOT_FOUND') {
      throw new ModelError(`model ${name} not found: ${err.message}`, { cause: err, code: 'MODEL_NOT_FOUND' });
    }
    if (err instanceof DatasetError && err.code === 'DATASET_FORBIDDEN') {
      throw new ModelError(`model ${name} cannot be read: ${err.message}`, { cause: err });
    }
    throw err;
  }
}

/** Reads a cached download; a cache file whose bytes no longer match its name is dropped. */
async function readCached(file: string, sha256: string): Promise<Buffer | undefined> {
  const bytes = await readFile(file).catch(() => undefined);
  if (bytes && sha256Of(bytes) === sha256) return bytes;
  if (bytes) await rm(file, { force: true });
  return undefined;
}

/** Writes a download under its digest, whole (temp file + rename), so readers never see half. */
async function cache(dir: string, sha256: string, bytes: Buffer): Promise<void> {
  await mkdir(dir, { recursive: true });
  const tmp = path.join(dir, `.${sha256}.${randomBytes(4).toString('hex')}.tmp`);
  await writeFile(tmp, bytes);
  await rename(tmp, path.join(dir, `${sha256}.onnx`));
}

/** The model's bytes and digest; `pin` (hex SHA-256) must match when given. */
export async function fetchModel(
  name: string,
  location: ModelLocation,
  pin: string | undefined,
  runtime: ModelRuntimeOptions,
): Promise<FetchedModel> {
  if (location.kind === 'file') {
    const bytes = await readLocal(name, location.path);
    const sha256 = sha256Of(bytes);
    checkPin(name, sha256, pin);
    return { bytes, sha256 };
  }
  if (pin !== undefined) {
    const cached = await readCached(path.join(runtime.cacheDir, `${pin}.onnx`), pin);
    if (cached) return { bytes: cached, sha256: pin };
  }
  const bytes = await download(name, location.url, runtime);
  const sha256 = sha256Of(bytes);
  checkPin(name, sha256, pin);
  // Best effort: a read-only or full cache folder costs a download per process, nothing more.
  await cache(runtime.cacheDir, sha256, bytes).catch(() => undefined);
  return { bytes, sha256 };
}
