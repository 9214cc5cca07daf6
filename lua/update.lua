-- update.lua: write selected scalar fields of an existing object.
-- KEYS[1] hash; KEYS[2..ARGV[2]] the object's other keys
-- ARGV[1] TTL in ms to re-arm ("0": leave it); ARGV[2] number of object keys
-- ARGV[3] n, the number of field/value pairs that follow
-- ARGV[4..3+2n] field, value pairs to set; ARGV[4+2n..] fields to remove (absent)
-- Reply: the new version (string)
-- Errors: NOTFOUND (nothing written)
if not object_exists() then return fail('NOTFOUND', 'object does not exist') end
local n = tonumber(ARGV[3])
if n > 0 then redis.call('HSET', KEYS[1], unpack(ARGV, 4, 3 + 2 * n)) end
if #ARGV >= 4 + 2 * n then redis.call('HDEL', KEYS[1], unpack(ARGV, 4 + 2 * n)) end
bump()
touch()
return redis.call('HGET', KEYS[1], '_v')
