-- reindex.lua: bring one object's index entries in line with its stored
-- values (Schema.Reindex), for every field the model indexes now.
-- KEYS[1] the object's hash; then the index section's keys (lua/index.lua)
-- ARGV[1] "0" (no TTL change); ARGV[2] "1"; ARGV[3] k, then k pairs field,
--   sort key: unique values another object holds by its claim on a
--   cluster (claim.go), left out as conflicts while the field still holds
--   that value; then the index section of every indexed field of the
--   model (its item count last)
-- Unlike idx_apply, it trusts neither x:rev nor x:i: every present value's
-- member is (re)added, an entry x:rev lists with another sort key is
-- removed, and x:rev is rewritten to list the indexed fields only (mentions
-- of fields no longer indexed go). The object always joins x:all.
-- A unique field whose value another live object already holds in the
-- index gets no entry (nothing else is written for it) and is reported.
-- A dead object (its hash is gone) loses its entries instead.
-- Reply: {changed, field, text, field, text, ...}: changed is 1 when an
--   entry was added, moved or removed (x:rev and x:all included), else 0;
--   then each unique field left out, with the stored text.
local sec = idx_parse()
if not sec then return { 0 } end
local id = sec.id
if not object_exists() then
  idx_forget(sec.rev, sec.all, idx_keys(sec), id)
  return { 0 }
end
local skip = {}
for j = 4, 3 + 2 * (tonumber(ARGV[3]) or 0), 2 do skip[ARGV[j]] = ARGV[j + 1] end
local names = {}
for i, f in ipairs(sec.fields) do names[i] = f.name end
local vals = redis.call('HMGET', KEYS[1], unpack(names))
local old = idx_rev(sec.rev, id)
local out, changed, revChanged, parts, declared = { 0 }, false, false, {}, {}
for i, f in ipairs(sec.fields) do
  declared[f.name] = true
  local text = vals[i]
  local sk = text and idx_key(f.kind, text) or nil
  if sk and f.unique and (skip[f.name] == sk or idx_check_unique(sec, f, sk, text)) then
    out[#out + 1] = f.name
    out[#out + 1] = text
    sk = nil
  end
  local was = old[f.name]
  if was ~= sk then
    revChanged = true
    if was then redis.call('ZREM', f.key, was .. '\0' .. id) end
  end
  if sk then
    if redis.call('ZADD', f.key, 0, sk .. '\0' .. id) == 1 then changed = true end
    parts[#parts + 1] = f.name .. '\0' .. sk .. '\0'
  end
end
for f in pairs(old) do
  if not declared[f] then revChanged = true end
end
if revChanged then
  changed = true
  if #parts > 0 then
    redis.call('HSET', sec.rev, id, table.concat(parts))
  else
    redis.call('HDEL', sec.rev, id)
  end
end
if redis.call('ZADD', sec.all, 0, id) == 1 then changed = true end
if changed then out[1] = 1 end
return out
