-- unindex.lua: take one object's entry out of one index (Reindex on a
-- cluster, when another object's claim holds the object's unique value).
-- KEYS[1] the field's x:i key; KEYS[2] the shard's x:rev (same slot)
-- ARGV[1] the field; ARGV[2] the sort key; ARGV[3] the id
-- Reply: 1 when the entry was there, else 0. x:rev's entry for the id
-- loses the field (removed when no field is left).
local field, sk, id = ARGV[1], ARGV[2], ARGV[3]
local n = redis.call('ZREM', KEYS[1], sk .. '\0' .. id)
local s = redis.call('HGET', KEYS[2], id)
if s then
  local parts = {}
  for f, k in string.gmatch(s, '([^%z]*)%z([^%z]*)%z') do
    if f ~= field then parts[#parts + 1] = f .. '\0' .. k .. '\0' end
  end
  if #parts > 0 then
    redis.call('HSET', KEYS[2], id, table.concat(parts))
  else
    redis.call('HDEL', KEYS[2], id)
  end
end
return n
