-- Cancel an item that is waiting (never tried, or waiting to be retried) or
-- that failed for good. A running item cannot be cancelled: the claim and this
-- script are atomic, so exactly one of them wins.
-- KEYS: due, failed, index, meta, body, attempts, errors
-- ARGV: id
-- Returns 1 when cancelled, 0 when unknown, running, already sent or cancelled.
local id = ARGV[1]
if redis.call('ZREM', KEYS[1], id) + redis.call('ZREM', KEYS[2], id) == 0 then
  return 0
end
local meta = redis.call('HGET', KEYS[4], id)
if meta then
  redis.call('ZREM', KEYS[3], cjson.decode(meta)['position'])
end
redis.call('HDEL', KEYS[4], id)
redis.call('HDEL', KEYS[5], id)
redis.call('HDEL', KEYS[6], id)
redis.call('HDEL', KEYS[7], id)
return 1
