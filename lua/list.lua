-- list.lua: operations on a LIST container of an object.
-- KEYS[1] hash; KEYS[2..ARGV[2]] the object's other keys
-- ARGV[1] TTL mode (prelude); ARGV[2] number of object keys
-- ARGV[3] index of the list's key in KEYS; ARGV[4] op; ARGV[5..] operands
--   rpush v...  -> the new length
-- Errors: NOTFOUND, INVALID; nothing is written on any error.
local got = redis.call('HMGET', KEYS[1], '_v')
if not got[1] then return fail('NOTFOUND', 'object does not exist') end
local key, op = KEYS[tonumber(ARGV[3])], ARGV[4]

if op == 'rpush' then
  local n = redis.call('RPUSH', key, unpack(ARGV, 5))
  bump()
  touch()
  return n
end
return fail('INVALID', 'unknown op ' .. op)
