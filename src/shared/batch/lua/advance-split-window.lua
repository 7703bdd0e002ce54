-- Moves a split window's cursor forward to ARG.to, never back (consumers queueing the same
-- splits race; the one that queued further wins). Returns the cursor after.
local queued = tonumber(redis.call('HGET', KEY.splits, 'queued') or '0')
local to = tonumber(ARG.to)
if to > queued then
  redis.call('HSET', KEY.splits, 'queued', to)
  return to
end
return queued
