-- Schedule one item, unless its idempotency key already made one.
-- KEYS: due, index, meta, body, [idempotency key if ARGV[5] == '1']
-- ARGV: id, due_ms, index_member, meta_json, has_idem, idem_ttl_s, fingerprint, body_json
-- Returns {'created'}, or {'duplicate', '<fingerprint>\n<id of the first>'}.
local has_idem = ARGV[5] == '1'
if has_idem then
  local prior = redis.call('GET', KEYS[5])
  if prior then
    return {'duplicate', prior}
  end
end
redis.call('HSET', KEYS[3], ARGV[1], ARGV[4])
redis.call('HSET', KEYS[4], ARGV[1], ARGV[8])
redis.call('ZADD', KEYS[2], 0, ARGV[3])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
if has_idem then
  redis.call('SET', KEYS[5], ARGV[7] .. '\n' .. ARGV[1], 'EX', ARGV[6])
end
return {'created'}
