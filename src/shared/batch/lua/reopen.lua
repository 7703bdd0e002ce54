-- Reopens a batch that failed with failed chunks, for the chunks given after the named
-- arguments to run again: each one's accounting is taken back out (as if it had never
-- run), so the batch closes again, by the usual rule, once they are all accounted. Returns
-- how many chunks were reopened, or -1 when the batch is not a failed batch whose chunks
-- can run again. It is in progress again for the gauges (its earlier failure stays counted
-- in the `failed` total).
-- uses: chunk-record
if redis.call('HGET', KEY.batch, 'status') ~= 'failed' or redis.call('HGET', KEY.batch, 'halted') == '1' then return -1 end
local n = 0
for i = FIRST_MORE_ARG, #ARGV do
  local idx = ARGV[i]
  if redis.call('SREM', KEY.failed, idx) == 1 then
    n = n + 1
    local raw = redis.call('HGET', KEY.chunks, idx)
    if raw then
      local old = parseChunkRecord(raw)
      redis.call('HINCRBY', KEY.batch, 'recordsSucceeded', 0 - old.succeeded)
      redis.call('HINCRBY', KEY.batch, 'recordsFailed', 0 - old.failed)
      redis.call('HINCRBY', KEY.batch, 'chunksDone', -1)
      redis.call('HINCRBY', KEY.batch, 'chunksFailed', 0 - old.chunkFailed)
      if old.succeeded > 0 then redis.call('HINCRBY', KEY.batch, 'parts', -1) end
      if old.chunkFailed == 1 then redis.call('HINCRBY', KEY.batch, 'failures:' .. old.code, -1) end
      redis.call('HINCRBY', KEY.batch, 'predictionCount', 0 - old.predictionCount)
      redis.call('HINCRBYFLOAT', KEY.batch, 'predictionSum', string.format('%.17g', 0 - old.predictionSum))
      redis.call('HINCRBYFLOAT', KEY.batch, 'latencyMs', string.format('%.17g', 0 - old.latencyMs))
      redis.call('HDEL', KEY.chunks, idx)
    end
  end
end
if n == 0 then return 0 end
redis.call('HSET', KEY.batch, 'status', 'running')
redis.call('HDEL', KEY.batch, 'completedAt', 'error')
-- A model failure noted for the batch (model-notes.ts) is forgotten: the retry is for a fixed model.
redis.call('HDEL', KEY.batch, 'modelError')
-- The root cause goes with the last failed chunk: the next failure, if any, is the new one.
if redis.call('SCARD', KEY.failed) == 0 then redis.call('HDEL', KEY.batch, 'failure') end
for _, key in ipairs({KEY.batch, KEY.chunks, KEY.failed}) do redis.call('PERSIST', key) end
redis.call('HINCRBY', KEY.gauges, 'running', 1)
redis.call('ZREM', KEY.finished, ARG.id)
redis.call('ZADD', KEY.active, redis.call('ZSCORE', KEY.index, ARG.id) or ARG.nowMs, ARG.id)
return n
