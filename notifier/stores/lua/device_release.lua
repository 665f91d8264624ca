-- Forget who owns a device, unless another user has registered it since.
-- KEYS: the device's owner key
-- ARGV: the user giving it up
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
