import { describe, expect, it } from 'vitest';
import { IngestAdmission, RETRY_AFTER_SECONDS } from '../../src/producer/ingest-admission.js';
import { TooManyRequestsError } from '../../src/shared/errors.js';

describe('IngestAdmission', () => {
  it('admits up to the limit, then refuses with 429 and Retry-After until a slot is released', () => {
    const admission = new IngestAdmission(2);
    const a = admission.acquire();
    admission.acquire();
    let refused: unknown;
    try {
      admission.acquire();
    } catch (err) {
      refused = err;
    }
    expect(refused).toBeInstanceOf(TooManyRequestsError);
    expect(refused).toMatchObject({ code: 'TOO_MANY_REQUESTS', httpStatus: 429, retryAfterSeconds: RETRY_AFTER_SECONDS });
    a.release();
    a.release(); // twice is harmless: it must not free a slot someone else holds
    expect(admission.active).toBe(1);
    admission.acquire();
    expect(() => admission.acquire()).toThrow(TooManyRequestsError);
  });

  it('admits a scheduled run past the limit, and counts it, so others stay shed', () => {
    const admission = new IngestAdmission(1);
    admission.acquire();
    const scheduled = admission.acquire(true);
    expect(admission.active).toBe(2);
    expect(() => admission.acquire()).toThrow(TooManyRequestsError);
    scheduled.release();
    expect(() => admission.acquire()).toThrow(TooManyRequestsError);
  });
});
