-- insert.lua: create an object only if it does not exist yet.
-- KEYS[1] hash; KEYS[2..ARGV[2]] the object's other keys
-- ARGV[1] TTL in ms to set ("0": none); ARGV[2] number of object keys
-- ARGV[3..] field, value pairs to write (metadata included by the caller)
-- Reply: 1
-- Errors: EXISTS (nothing written)
if object_exists() then return fail('EXISTS', 'an object with this id exists') end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
touch()
return 1
