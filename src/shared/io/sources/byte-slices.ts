/**
 * Cutting a byte stream to a range when the server cannot: a read resumed from the start
 * skips what was already delivered, and a range read stops at the range's end.
 */

/** The bytes of `body` after the first `skip`. */
export async function* skipBytes(body: AsyncIterable<Buffer>, skip: number): AsyncGenerator<Buffer> {
  let left = skip;
  for await (const chunk of body) {
    if (left >= chunk.length) {
      left -= chunk.length;
      continue;
    }
    yield left > 0 ? chunk.subarray(left) : chunk;
    left = 0;
  }
}

/** At most `limit` bytes of `body` (all of them when undefined). */
export async function* takeBytes(body: AsyncIterable<Buffer>, limit: number | undefined): AsyncGenerator<Buffer> {
  if (limit === undefined) {
    for await (const chunk of body) yield chunk;
    return;
  }
  let left = limit;
  for await (const chunk of body) {
    if (left <= 0) return;
    yield chunk.length > left ? chunk.subarray(0, left) : chunk;
    left -= chunk.length;
  }
}
