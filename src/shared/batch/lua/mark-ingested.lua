-- Ingest finished: the batch knows its totals and runs. Returns 1 when every chunk is
-- already accounted (the caller closes it), 0 when not, -1 when it was not ingesting.
-- uses: ready-to-close
if redis.call('HGET', KEY.batch, 'status') ~= 'ingesting' then return -1 end
redis.call('HSET', KEY.batch, 'chunksTotal', ARG.chunksTotal, 'recordsTotal', ARG.recordsTotal, 'status', 'running', 'ingestedAt', ARG.ingestedAt)
redis.call('ZREM', KEY.ingesting, ARG.id)
redis.call('HINCRBY', KEY.gauges, 'ingesting', -1)
redis.call('HINCRBY', KEY.gauges, 'running', 1)
return readyToClose(KEY.batch)
