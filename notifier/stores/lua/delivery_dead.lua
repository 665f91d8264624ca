-- Write a job to the dead-letter stream, then acknowledge it. Both happen in
-- this one script, so a crash cannot lose the job between them.
-- KEYS: jobs, dead
-- ARGV: group, entry id ('' when the job is not in the stream), then the dead
-- letter's fields and values (the job's, its last error and when it failed)
local args = {'XADD', KEYS[2], '*'}
for i = 3, #ARGV do
  args[#args + 1] = ARGV[i]
end
local id = redis.call(unpack(args))
if ARGV[2] ~= '' then
  redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
  redis.call('XDEL', KEYS[1], ARGV[2])
end
return id
