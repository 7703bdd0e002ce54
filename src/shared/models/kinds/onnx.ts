/**
 * `onnx:<ref>`: a model exported to ONNX, run with onnxruntime-node (CPU, or CUDA with
 * `ONNX_EXECUTION_PROVIDER`). `ref` is a file under `MODEL_ROOT`, or an `https://` / `s3://`
 * URL; `?sha256=<hex>` (or `MODEL_SHA256` for
 * the deployment's `MODEL`) pins its digest. Parsing does no I/O (the producer checks
 * references at submit); the runtime, the fetch and the graph reader are imported by `load`.
 */
import os from 'node:os';
import path from 'node:path';
import { ModelError } from '../../errors.js';
import type { ModelContext, ModelKind, ModelRuntimeOptions } from '../model.js';
import { resolveModelFile } from '../model-file.js';
import type { ModelLocation } from '../model-fetch.js';

const USAGE = 'onnx:<file in MODEL_ROOT | https://… | s3://…>[?sha256=<hex>]';
const SHA256 = /^[0-9a-f]{64}$/;
const URL_SCHEMES = new Set(['https:', 'http:', 's3:']);

/** Where processes that configure nothing (tests, tools) load from. */
const DEFAULT_RUNTIME: ModelRuntimeOptions = {
  cacheDir: path.join(os.tmpdir(), 'batchinfer-models'),
  allowPrivateNetworks: false,
  allowedCidrs: [],
  intraOpThreads: 1,
  executionProvider: 'cpu',
};

function readPin(value: string | null | undefined): string | undefined {
  if (value === null || value === undefined) return undefined;
  const pin = value.toLowerCase();
  if (!SHA256.test(pin)) throw new ModelError(`onnx model pin must be a hex SHA-256 (64 characters), got '${value}'`);
  return pin;
}

/** The location and pin of a reference's argument. */
function parseArgument(argument: string, context: ModelContext): { location: ModelLocation; pin: string | undefined; label: string } {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(argument)) {
    let url: URL;
    try {
      url = new URL(argument);
    } catch {
      throw new ModelError(`onnx model URL is not a valid URL: ${USAGE}`);
    }
    if (!URL_SCHEMES.has(url.protocol)) throw new ModelError(`onnx model URL scheme must be https or s3: ${USAGE}`);
    if (url.username || url.password) throw new ModelError('onnx model URL must not carry credentials');
    const pin = readPin(url.searchParams.get('sha256'));
    url.searchParams.delete('sha256');
    // Without its query: a presigned URL's signature is no name to log.
    return { location: { kind: 'url', url }, pin, label: `${url.protocol}//${url.host}${url.pathname}` };
  }
  const match = /^(.*)\?sha256=([^?]*)$/.exec(argument);
  const file = resolveModelFile('onnx', match ? match[1] : argument, context.modelRoot);
  return { location: { kind: 'file', path: file }, pin: readPin(match?.[2]), label: path.relative(context.modelRoot, file) };
}

export const onnxKind: ModelKind = {
  name: 'onnx',
  usage: USAGE,
  parse(argument, ref, context) {
    if (!argument) throw new ModelError(`model 'onnx' needs a reference: ${USAGE}`);
    const parsed = parseArgument(argument, context);
    const pin = parsed.pin ?? (context.pin && context.pin.model === ref ? readPin(context.pin.sha256) : undefined);
    const where = parsed.location.kind === 'file' ? parsed.location.path : parsed.location.url.toString();
    const name = `onnx:${parsed.label}`;
    const runtime = context.runtime ?? DEFAULT_RUNTIME;
    return {
      kind: 'onnx',
      ref,
      cacheKey: `onnx:${where}#${pin ?? ''}`,
      async load() {
        const [{ fetchModel }, { createOnnxModel }] = await Promise.all([import('../model-fetch.js'), import('../onnx/onnx-model.js')]);
        const { bytes, sha256 } = await fetchModel(name, parsed.location, pin, runtime);
        return createOnnxModel(bytes, {
          name,
          sha256,
          intraOpThreads: runtime.intraOpThreads,
          executionProvider: runtime.executionProvider,
        });
      },
    };
  },
};
