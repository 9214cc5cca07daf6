-- save.lua: Save of an object with containers whose model has a TTL but
-- does not refresh it (Save is a MULTI/EXEC otherwise). Writes like
-- update.lua, creating the object when missing; the hash gets the TTL only
-- when it has none (a new object), and container keys inherit what the
-- hash has left.
-- KEYS[1] hash; KEYS[2..ARGV[2]] the object's other keys
-- ARGV[1] "keep"; ARGV[2] number of object keys; ARGV[3] the model's TTL in ms
-- ARGV[4] n pairs; ARGV[5] a absent; ARGV[6..] pairs, absent fields,
--   container blocks (every container of the object)
-- Reply: the new version
local n, a = tonumber(ARGV[4]), tonumber(ARGV[5])
if n > 0 then redis.call('HSET', KEYS[1], unpack(ARGV, 6, 5 + 2 * n)) end
if a > 0 then redis.call('HDEL', KEYS[1], unpack(ARGV, 6 + 2 * n, 5 + 2 * n + a)) end
write_containers(6 + 2 * n + a)
local v = redis.call('HINCRBY', KEYS[1], '_v', 1)
if redis.call('PTTL', KEYS[1]) == -1 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
touch()
return v
