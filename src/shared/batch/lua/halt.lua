-- Fails (or cancels) a batch that has not finished; halted batches' chunks are skipped.
-- Returns 0 when it had already ended.
-- uses: leave-active
local st = redis.call('HGET', KEY.batch, 'status')
if not st or st == 'completed' or st == 'failed' or st == 'cancelled' then return 0 end
redis.call('HSET', KEY.batch, 'status', ARG.status, 'error', ARG.error, 'completedAt', ARG.completedAt, 'halted', '1')
if ARG.errorCode ~= '' then redis.call('HSET', KEY.batch, 'errorCode', ARG.errorCode) end
for _, key in ipairs({KEY.batch, KEY.chunks, KEY.failed}) do redis.call('EXPIRE', key, ARG.ttl) end
redis.call('ZREM', KEY.ingesting, ARG.id)
leaveActive(st, ARG.status)
return 1
