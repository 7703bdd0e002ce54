/**
 * When did this attempt at a chunk become runnable? The chunk's wait is measured per attempt
 * from that moment, so a retried chunk's wait never includes its earlier attempts or its
 * backoff.
 *
 * The first attempt is runnable from the job's creation (plus any delay). A later attempt is
 * runnable from when the previous one ended plus its backoff; BullMQ does not keep that time,
 * so the consumer that ends an attempt writes it into the job's own hash
 * ({@link JOB_READY_FIELD}, tagged with the attempt it is for). A chunk taken back after
 * its consumer died (a stall) has no such mark: its wait is unknown and is not observed,
 * rather than guessed.
 */
import { Backoffs } from 'bullmq';
import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { JOB_READY_FIELD } from '../shared/batch/keys.js';

/** Reads `<attempt>:<ms>`; the time only when it was written for `attempt`. */
export function parseReadyMark(mark: string | null | undefined, attempt: number): number | undefined {
  const match = /^(\d+):(\d+)$/.exec(mark ?? '');
  if (!match || Number(match[1]) !== attempt) return undefined;
  return Number(match[2]);
}

export const readyMark = (attempt: number, readyAtMs: number): string => `${attempt}:${Math.round(readyAtMs)}`;

const jobKey = (job: Job): string => `${job.queueQualifiedName}:${job.id}`;

export class AttemptClock {
  constructor(private readonly redis: Redis) {}

  /** Epoch ms from which this attempt could run, or undefined when unknown. */
  async readyAt(job: Job): Promise<number | undefined> {
    if (job.attemptsStarted <= 1) return job.timestamp + (job.opts.delay ?? 0);
    return parseReadyMark(await this.redis.hget(jobKey(job), JOB_READY_FIELD), job.attemptsStarted);
  }

  /** Seconds this attempt waited before a consumer took it, or undefined when unknown. */
  async waitSeconds(job: Job): Promise<number | undefined> {
    const ready = await this.readyAt(job);
    if (ready === undefined || job.processedOn === undefined) return undefined;
    return Math.max(0, job.processedOn - ready) / 1000;
  }

  /**
   * Marks when the next attempt becomes runnable: after the backoff BullMQ will apply to
   * `err` (the same calculation BullMQ makes), or at once for a chunk handed back.
   */
  async markRequeued(job: Job, err?: unknown): Promise<void> {
    const delayMs = err === undefined ? 0 : await retryDelayMs(job, err);
    await this.redis.hset(jobKey(job), JOB_READY_FIELD, readyMark(job.attemptsStarted + 1, Date.now() + delayMs));
  }
}

export async function retryDelayMs(job: Job, err: unknown): Promise<number> {
  const backoff = job.opts.backoff === undefined ? undefined : Backoffs.normalize(job.opts.backoff);
  if (!backoff) return 0;
  const error = err instanceof Error ? err : new Error(String(err));
  const delay = await Backoffs.calculate(backoff, job.attemptsMade + 1, error, job);
  return typeof delay === 'number' && delay > 0 ? delay : 0;
}
