-- Set a flag on an existing account; optionally revoke all of its sessions.
-- KEYS[1]: the account hash, KEYS[2]: its sessions (same {u:<id>} slot)
-- ARGV[1]: field, ARGV[2]: value, ARGV[3]: "1" to delete the sessions
-- Returns 0 when there is no such account (nothing is written), else 1.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if ARGV[3] == '1' then
  redis.call('DEL', KEYS[2])
end
return 1
