-- insertmany.lua: create several objects, all or none: when any of them
-- exists, nothing is written.
-- KEYS: the keys of object 1 (its hash first), then those of object 2, ...
-- ARGV[1] TTL in ms to set ("0": none); ARGV[2] n, the number of objects
-- ARGV[3..] per object: k (its number of keys), p (number of pair items),
--   p items (field, value pairs, metadata included), b (number of container
--   block items), b items (container blocks, key indexes relative to the
--   object: see write_containers)
-- Reply: n
-- Errors: EXISTS <position> (1-based; nothing written)
local n = tonumber(ARGV[2])
local objs = {}
local k, i = 1, 3
for o = 1, n do
  local nk, p = tonumber(ARGV[i]), tonumber(ARGV[i + 1])
  local b = tonumber(ARGV[i + 2 + p])
  if redis.call('EXISTS', KEYS[k]) == 1 then return fail('EXISTS', tostring(o)) end
  objs[o] = { k, nk, i + 2, p, i + 3 + p, b }
  k, i = k + nk, i + 3 + p + b
end
for o = 1, n do
  local kb, nk, ps, p, bs, b = unpack(objs[o])
  redis.call('HSET', KEYS[kb], unpack(ARGV, ps, ps + p - 1))
  write_containers(bs, bs + b - 1, kb - 1)
  if ARGV[1] ~= '0' then
    for j = kb, kb + nk - 1 do redis.call('PEXPIRE', KEYS[j], ARGV[1]) end
  end
end
return n
