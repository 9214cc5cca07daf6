-- map.lua: operations on a container of an object (to be written).
-- KEYS[1] hash; KEYS[2..ARGV[2]] the object's other keys
-- ARGV[1] TTL mode (prelude); ARGV[2] number of object keys
-- ARGV[3] index of the container's key in KEYS; ARGV[4] op; ARGV[5..] operands
return fail('INVALID', 'unknown op ' .. tostring(ARGV[4]))
