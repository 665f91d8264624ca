-- Put a dead letter back in the job stream as a fresh job (attempt 1), and
-- remove it from the dead letters, in one step.
-- KEYS: jobs, dead
-- ARGV: dead letter id
-- Returns the new job's entry id, or false when there is no such dead letter.
local found = redis.call('XRANGE', KEYS[2], ARGV[1], ARGV[1])
if #found == 0 then
  return false
end
local fields = found[1][2]
local args = {'XADD', KEYS[1], '*'}
for i = 1, #fields, 2 do
  local name, value = fields[i], fields[i + 1]
  if name == 'attempt' then
    value = '1'
  elseif name == 'not_before' then
    value = '0'
  end
  if name ~= 'error' and name ~= 'failed_at' then
    args[#args + 1] = name
    args[#args + 1] = value
  end
end
local id = redis.call(unpack(args))
redis.call('XDEL', KEYS[2], ARGV[1])
return id
