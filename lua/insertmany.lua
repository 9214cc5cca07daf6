-- insertmany.lua: create several objects, all or none: when any of them
-- exists, or would take a unique value that is taken (by a live object or
-- by another object of the call), nothing is written.
-- KEYS: the keys of object 1 (its hash first), then those of object 2, ...,
--   then the index sections' keys (lua/index.lua; absolute KEYS indexes)
-- ARGV[1] TTL in ms to set ("0": none); ARGV[2] n, the number of objects
-- ARGV[3..] per object: k (its number of keys), p (number of pair items),
--   p items (field, value pairs, metadata included), b (number of container
--   block items), b items (container blocks, key indexes relative to the
--   object: see write_containers), s (number of index section items), s
--   items (the object's index section, its item count last; s = 1 and the
--   item "0" when the model has no index)
-- Reply: n
-- Errors: EXISTS <position> <why> (1-based), WRONGTYPE (a hash or an index
--   key holds another type); nothing written
local n = tonumber(ARGV[2])
local objs = {}
local taken = {} -- field .. "\0" .. sort key -> position, unique values of the call
local k, i = 1, 3
for o = 1, n do
  local nk, p = tonumber(ARGV[i]), tonumber(ARGV[i + 1])
  local b = tonumber(ARGV[i + 2 + p])
  local s = tonumber(ARGV[i + 3 + p + b])
  local last = i + 3 + p + b + s
  local bad, t = want_type(KEYS[k], 'hash')
  if bad then return bad end
  if t == 'hash' then return fail('EXISTS', o .. ' an object with this id exists') end
  local sec = idx_parse(last)
  if sec then
    local e = idx_guard(sec)
    if e then return e end
    local texts = {}
    for j = i + 2, i + 1 + p, 2 do texts[ARGV[j]] = ARGV[j + 1] end
    for _, f in ipairs(sec.fields) do
      local t = texts[f.name]
      local sk = f.unique and t and idx_key(f.kind, t)
      if sk then
        local slot = f.name .. '\0' .. sk
        if taken[slot] then
          return fail('EXISTS', o .. ' unique field ' .. f.name .. ': value ' .. string.sub(t, 1, 60) .. ' given twice (objects ' .. taken[slot] .. ' and ' .. o .. ')')
        end
        taken[slot] = o
      end
    end
    local msg = idx_unique_new(sec, texts)
    if msg and string.sub(msg, 1, 7) ~= 'EXISTS ' then return redis.error_reply(msg) end
    if msg then return redis.error_reply('EXISTS ' .. o .. ' ' .. string.sub(msg, 8)) end
  end
  objs[o] = { k, nk, i + 2, p, i + 3 + p, b, sec }
  k, i = k + nk, last + 1
end
for o = 1, n do
  local kb, nk, ps, p, bs, b, sec = unpack(objs[o])
  redis.call('HSET', KEYS[kb], unpack(ARGV, ps, ps + p - 1))
  write_containers(bs, bs + b - 1, kb - 1)
  if sec then idx_apply(sec, KEYS[kb]) end
  if ARGV[1] ~= '0' then
    for j = kb, kb + nk - 1 do redis.call('PEXPIRE', KEYS[j], ARGV[1]) end
  end
end
return n
