/**
 * What consumers learn about a batch's model, kept on the batch in Redis:
 * - its **failure** (`MODEL_NOT_FOUND`, `MODEL_INVALID`, `MODEL_INPUT_MISMATCH`): the first
 *   consumer that meets it notes it, and every later chunk of the batch, on any pod, fails
 *   fast with it instead of loading the model again. Those chunks still go through the
 *   ordinary final-failure path, so each of their records lands in an error file and is
 *   counted: the batch ends `failed` with nothing lost. `POST /retry` forgets the failure.
 * - its **info** (type, class labels, digest): written once into `manifest.json`.
 * Both are set once (HSETNX): the first note wins, later ones change nothing.
 */
import type { Redis } from 'ioredis';
import type { ModelErrorCode } from '../errors.js';
import { batchKeys } from './keys.js';

export const MODEL_ERROR_FIELD = 'modelError';
const MODEL_INFO_FIELD = 'modelInfo';

export interface ModelFailure {
  code: ModelErrorCode;
  message: string;
}

export class ModelNotes {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  /** Notes the batch's model failure; also its `errorCode`, which the status API shows. */
  async noteFailure(batchId: string, failure: ModelFailure): Promise<void> {
    const key = batchKeys(this.prefix, batchId).batch;
    // Only on a batch that exists: a note must not recreate an expired batch's hash.
    if ((await this.redis.exists(key)) === 0) return;
    await this.redis.multi().hsetnx(key, MODEL_ERROR_FIELD, JSON.stringify(failure)).hsetnx(key, 'errorCode', failure.code).exec();
  }

  async noteInfo(batchId: string, info: Record<string, unknown>): Promise<void> {
    const key = batchKeys(this.prefix, batchId).batch;
    if ((await this.redis.exists(key)) === 0) return;
    await this.redis.hsetnx(key, MODEL_INFO_FIELD, JSON.stringify(info));
  }

  async read(batchId: string): Promise<{ failure?: ModelFailure; info?: Record<string, unknown> }> {
    const [failure, info] = await this.redis.hmget(batchKeys(this.prefix, batchId).batch, MODEL_ERROR_FIELD, MODEL_INFO_FIELD);
    const notes: { failure?: ModelFailure; info?: Record<string, unknown> } = {};
    if (failure) notes.failure = JSON.parse(failure) as ModelFailure;
    if (info) notes.info = JSON.parse(info) as Record<string, unknown>;
    return notes;
  }
}
