-- Create a hash only if the key does not exist yet.
-- KEYS: the hash; ARGV: field, value, field, value, ...
-- Returns 1 when created, 0 when the key already existed.
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
