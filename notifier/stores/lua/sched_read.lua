-- Describe items, one consistent snapshot: per id in ARGV, its meta (false when
-- gone), attempts, last error, state and the time it is next due (or '').
-- KEYS: due, running, failed, meta, attempts, errors
local out = {}
for _, id in ipairs(ARGV) do
  local meta = redis.call('HGET', KEYS[4], id)
  local attempts = redis.call('HGET', KEYS[5], id) or '0'
  local due = redis.call('ZSCORE', KEYS[1], id)
  local state
  if redis.call('ZSCORE', KEYS[2], id) then
    state = 'running'
  elseif redis.call('ZSCORE', KEYS[3], id) then
    state = 'failed'
  elseif attempts ~= '0' then
    state = 'retrying'
  else
    state = 'scheduled'
  end
  out[#out + 1] = meta
  out[#out + 1] = attempts
  out[#out + 1] = redis.call('HGET', KEYS[6], id) or ''
  out[#out + 1] = state
  out[#out + 1] = due or ''
end
return out
