-- Shared: every final transition also moves the batch gauges and the in-progress and
-- finished sets, so the exporter reads batches by status without scanning batches.
-- gauges: ingesting/running now, created and <final status> totals; finished: the set of
-- the new status, trimmed to the batch TTL (what the status API still knows).
local function leaveActive(from, to)
  local now, ttl = tonumber(ARG.nowMs), tonumber(ARG.ttl)
  redis.call('HINCRBY', KEY.gauges, from, -1)
  redis.call('HINCRBY', KEY.gauges, to, 1)
  redis.call('ZREM', KEY.active, ARG.id)
  redis.call('ZADD', KEY.finished, now, ARG.id)
  redis.call('ZREMRANGEBYSCORE', KEY.finished, '-inf', '(' .. (now - ttl * 1000))
end
