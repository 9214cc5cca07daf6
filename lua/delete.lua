-- delete.lua: delete an object of an indexed model, with its index entries.
-- KEYS: the object's keys (ARGV[2] of them), then the index section's keys
-- ARGV[1] "0"; ARGV[2] number of object keys; then the index section of
--   every indexed field (lua/index.lua; its item count last)
-- Reply: 1 when the object existed, else 0 (its stale entries, if any, are
--   removed all the same)
-- Errors: WRONGTYPE (an index key of another type; nothing deleted). The
--   object's own keys are deleted whatever they hold.
local sec = idx_parse()
if sec then
  local e = idx_guard(sec, true)
  if e then return e end
end
local existed = redis.call('EXISTS', KEYS[1])
if sec then idx_forget(sec.rev, sec.all, idx_keys(sec), sec.id, sec.revtext) end
redis.call('DEL', unpack(KEYS, 1, tonumber(ARGV[2])))
return existed
