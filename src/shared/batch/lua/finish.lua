-- Moves a running batch to its final status; returns 0 when someone else already did.
-- uses: leave-active
if redis.call('HGET', KEY.batch, 'status') ~= 'running' then return 0 end
redis.call('HSET', KEY.batch, 'status', ARG.status, 'completedAt', ARG.completedAt)
if ARG.error ~= '' then redis.call('HSET', KEY.batch, 'error', ARG.error) end
for _, key in ipairs({KEY.batch, KEY.chunks, KEY.failed}) do redis.call('EXPIRE', key, ARG.ttl) end
leaveActive('running', ARG.status)
return 1
