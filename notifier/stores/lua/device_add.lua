-- Register a device (or refresh one registered before), keeping at most a cap per user.
-- KEYS: the user's devices hash
-- ARGV: device id, device JSON, now (UTC ISO-8601), most devices allowed
-- The device keeps its first created_at; registered_at becomes now. When a new
-- device would pass the cap, the devices registered longest ago make room.
-- Returns {1 if new else 0, evicted id, ...}.
local id, now, cap = ARGV[1], ARGV[3], tonumber(ARGV[4])
local device = cjson.decode(ARGV[2])
local existing = redis.call('HGET', KEYS[1], id)
local result = {0}
if existing then
  device['created_at'] = cjson.decode(existing)['created_at'] or now
else
  device['created_at'] = now
  result[1] = 1
  local flat = redis.call('HGETALL', KEYS[1])
  local excess = #flat / 2 - cap + 1
  if excess > 0 then
    local held = {}
    for i = 1, #flat, 2 do
      local ok, other = pcall(cjson.decode, flat[i + 1])
      local at = ok and type(other) == 'table' and other['registered_at'] or ''
      held[#held + 1] = {flat[i], tostring(at)}
    end
    table.sort(held, function(a, b)
      if a[2] == b[2] then return a[1] < b[1] end
      return a[2] < b[2]
    end)
    for i = 1, excess do
      redis.call('HDEL', KEYS[1], held[i][1])
      result[#result + 1] = held[i][1]
    end
  end
end
device['registered_at'] = now
redis.call('HSET', KEYS[1], id, cjson.encode(device))
return result
