-- insert.lua: create an object only if it does not exist yet.
-- KEYS[1] hash; KEYS[2..ARGV[2]] the object's other keys
-- ARGV[1] TTL in ms to set ("0": none); ARGV[2] number of object keys
-- ARGV[3] p, the number of items that follow: field, value pairs to write
--   (metadata included by the caller)
-- ARGV[4+p..] container blocks (see write_containers): every container of
--   the object, empty ones too, so leftovers of an expired object go
-- Reply: 1
-- Errors: EXISTS (nothing written)
if object_exists() then return fail('EXISTS', 'an object with this id exists') end
local p = tonumber(ARGV[3])
redis.call('HSET', KEYS[1], unpack(ARGV, 4, 3 + p))
write_containers(4 + p)
touch()
return 1
