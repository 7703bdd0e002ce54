-- Accounts one chunk's result, its attempt's usage and the exporter's counters. A replayed
-- chunk replaces its earlier result (counts move by the difference); cost is always added,
-- since every attempt used resources. Returns 1 when the batch is ready to close, 0 when
-- not, -1 when the batch is gone.
-- uses: ready-to-close, chunk-record, attribution, booked-once
if not firstBooking(KEY.booked, ARG.attemptId, ARG.bookedTtl) then
  if redis.call('EXISTS', KEY.batch) == 0 then return -1 end
  return readyToClose(KEY.batch)
end
observe(KEY.waitHistogram, ARG.waitBucket, ARG.wait)
observe(KEY.processingHistogram, ARG.processingBucket, ARG.processing)
if redis.call('EXISTS', KEY.batch) == 0 then return -1 end
local idx = ARG.chunkIndex
local s, f, p, pc, l, x = tonumber(ARG.succeeded), tonumber(ARG.failed), tonumber(ARG.predictionSum), tonumber(ARG.predictionCount), tonumber(ARG.latencyMs), tonumber(ARG.chunkFailed)
local newChunk = 1
local part = 0
if s > 0 then part = 1 end
local wasFailed = false
local raw = redis.call('HGET', KEY.chunks, idx)
if raw then
  newChunk = 0
  local old = parseChunkRecord(raw)
  s = s - old.succeeded; f = f - old.failed; p = p - old.predictionSum
  pc = pc - old.predictionCount; l = l - old.latencyMs; x = x - old.chunkFailed
  if old.succeeded > 0 then part = part - 1 end
  if old.chunkFailed == 1 then
    wasFailed = true
    redis.call('HINCRBY', KEY.batch, 'failures:' .. old.code, -1)
  end
end
local record = table.concat({ARG.succeeded, ARG.failed, ARG.predictionSum, ARG.predictionCount, ARG.latencyMs, ARG.chunkFailed}, '|')
if ARG.chunkFailed == '1' then
  redis.call('HSET', KEY.chunks, idx, record .. '|' .. ARG.failureCode)
  redis.call('SADD', KEY.failed, idx)
  redis.call('HINCRBY', KEY.batch, 'failures:' .. ARG.failureCode, 1)
  -- The first chunk to fail for good is the batch's root cause; later ones only count.
  redis.call('HSETNX', KEY.batch, 'failure', ARG.failure)
else
  redis.call('HSET', KEY.chunks, idx, record)
  redis.call('SREM', KEY.failed, idx)
  -- A failed chunk that succeeded on replay is no longer a cause once none is left.
  if wasFailed and redis.call('SCARD', KEY.failed) == 0 then redis.call('HDEL', KEY.batch, 'failure') end
end
redis.call('HINCRBY', KEY.batch, 'recordsSucceeded', s)
redis.call('HINCRBY', KEY.batch, 'recordsFailed', f)
redis.call('HINCRBY', KEY.batch, 'chunksDone', newChunk)
redis.call('HINCRBY', KEY.batch, 'chunksFailed', x)
redis.call('HINCRBY', KEY.batch, 'parts', part)
redis.call('HINCRBY', KEY.batch, 'predictionCount', pc)
redis.call('HINCRBYFLOAT', KEY.batch, 'predictionSum', string.format('%.17g', p))
redis.call('HINCRBYFLOAT', KEY.batch, 'latencyMs', string.format('%.17g', l))
local team, project, model = attribution(KEY.batch)
addCost(KEY.batch, team, cjson.encode({team, project, model}))
-- Counters only grow: a replay adds what it raises (a failed chunk that later succeeds
-- counts its records once as failed, then once as succeeded).
if s > 0 then redis.call('HINCRBY', KEY.records, cjson.encode({'succeeded', team, project, model}), s) end
if f > 0 then redis.call('HINCRBY', KEY.records, cjson.encode({'failed', team, project, model}), f) end
if x > 0 then redis.call('HINCRBY', KEY.chunkFailures, ARG.failureReason, 1) end
return readyToClose(KEY.batch)
