-- Create an account only if the id is unclaimed: no account, and nothing stored for it.
-- KEYS[1]: the account hash; KEYS[2..]: the user's keys that senders create (inbox,
-- unread, trimmed, broadcast state, preferences, devices), all in one {u:<id>} slot.
-- ARGV: field, value, field, value, ... of the new account.
-- Returns 1 when created, 0 when an account exists, -1 when the id was addressed.
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
for i = 2, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 1 then
    return -1
  end
end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
