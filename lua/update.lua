-- update.lua: write selected fields of an existing object.
-- KEYS[1] hash; KEYS[2..ARGV[2]] the object's other keys
-- ARGV[1] TTL mode (prelude); ARGV[2] number of object keys
-- ARGV[3] n, the number of field/value pairs; ARGV[4] a, the number of
--   fields to remove; ARGV[5] expected version ("" no check, else the
--   stored _v must equal it: WithVersionCheck)
-- ARGV[6..5+2n] field, value pairs to set; then a fields to remove (absent)
-- ARGV[6+2n+a..] container blocks (see write_containers) to replace
-- then the index section (lua/index.lua; its item count last, "0" for none)
-- Reply: the new version (string)
-- Errors: NOTFOUND, CONFLICT, EXISTS (a unique value taken), WRONGTYPE (the
--   hash or an index key holds another type), DECODE (_v is not an
--   integer); nothing written
local obj, bad = read_object(true)
if bad then return bad end
local got = obj[1]
if ARGV[5] ~= '' and got ~= ARGV[5] then
  return fail('CONFLICT', 'stored version ' .. got .. ', expected ' .. ARGV[5])
end
local nv = next_version(got)
local e = write_object(6, tonumber(ARGV[3]), tonumber(ARGV[4]), nv)
if e then return e end
touch()
return nv
