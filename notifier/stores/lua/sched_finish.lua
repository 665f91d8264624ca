-- Forget an item that ran: it leaves every set and hash.
-- KEYS: due, running, failed, index, meta, body, attempts, errors
-- ARGV: id
-- Returns 1, or 0 when it was gone already (another process finished it).
local id = ARGV[1]
local meta = redis.call('HGET', KEYS[5], id)
if not meta then
  return 0
end
redis.call('ZREM', KEYS[1], id)
redis.call('ZREM', KEYS[2], id)
redis.call('ZREM', KEYS[3], id)
redis.call('ZREM', KEYS[4], cjson.decode(meta)['position'])
redis.call('HDEL', KEYS[5], id)
redis.call('HDEL', KEYS[6], id)
redis.call('HDEL', KEYS[7], id)
redis.call('HDEL', KEYS[8], id)
return 1
