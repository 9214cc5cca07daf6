-- save.lua: Save when it must depend on stored state: a version check
-- (WithVersionCheck), or a model with containers whose TTL does not refresh
-- (container keys it recreates inherit what the hash has left, which a
-- MULTI cannot read). Writes like update.lua, creating the object when
-- missing; the hash gets the model's TTL when it has none.
-- KEYS[1] hash; KEYS[2..ARGV[2]] the object's other keys
-- ARGV[1] TTL mode (prelude); ARGV[2] number of object keys
-- ARGV[3] the model's TTL in ms ("0": none)
-- ARGV[4] expected version: "" no check; "0" the object must not exist;
--   else the stored _v must equal it
-- ARGV[5] n pairs; ARGV[6] a absent; ARGV[7..] pairs, absent fields,
--   container blocks (every container of the object), then the index
--   section (lua/index.lua; its item count last, "0" for none)
-- Reply: the new version (string)
-- Errors: CONFLICT, EXISTS (a unique value taken), WRONGTYPE (the hash or
--   an index key holds another type), DECODE (_v is not an integer); nothing
--   written
local got, bad = read_object(false)
if bad then return bad end
local want = ARGV[4]
if want ~= '' then
  local v = got[1] or '0'
  if v ~= want then return fail('CONFLICT', 'stored version ' .. v .. ', expected ' .. want) end
end
local nv = next_version(got[1])
local e = write_object(7, tonumber(ARGV[5]), tonumber(ARGV[6]), nv)
if e then return e end
if ARGV[3] ~= '0' and redis.call('PTTL', KEYS[1]) == -1 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
touch()
return nv
