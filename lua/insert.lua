-- insert.lua: create an object only if it does not exist yet.
-- KEYS[1] hash; KEYS[2..ARGV[2]] the object's other keys; then the index
--   section's keys (lua/index.lua)
-- ARGV[1] TTL in ms to set ("0": none); ARGV[2] number of object keys
-- ARGV[3] p, the number of items that follow: field, value pairs to write
--   (metadata included by the caller)
-- ARGV[4+p..] container blocks (see write_containers): every container of
--   the object, empty ones too, so leftovers of an expired object go
-- then the index section (its item count last; "0" for none)
-- Reply: 1
-- Errors: EXISTS (an object with this id exists, or a unique value is
--   taken), WRONGTYPE (KEYS[1] or an index key holds another type); nothing
--   written
local bad, t = want_type(KEYS[1], 'hash')
if bad then return bad end
if t == 'hash' then return fail('EXISTS', 'an object with this id exists') end
local e = write_object(4, tonumber(ARGV[3]) / 2, 0)
if e then return e end
touch()
return 1
