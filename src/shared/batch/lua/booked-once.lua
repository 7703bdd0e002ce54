-- Shared: an attempt is booked once. ioredis sends a script again when a reconnect cut its
-- reply off (Redis crashed after running it), and cost and histograms are added, not set:
-- the attempt's id, kept in a set with the batch's TTL, makes the second run a no-op.
-- An empty id (nothing to book) is never kept.
local function firstBooking(bookedKey, attemptId, ttl)
  if attemptId == '' then return true end
  if redis.call('SADD', bookedKey, attemptId) == 0 then return false end
  redis.call('EXPIRE', bookedKey, ttl)
  return true
end
