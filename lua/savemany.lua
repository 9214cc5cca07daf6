-- savemany.lua: Save of several objects of one hash slot in one script
-- call, each object exactly as save.lua saves it (save.lua's body runs as
-- save_one, once per object, KEYS and ARGV bound to that object's own: see
-- lua.go, buildEach). The objects run in order, each atomic on its own: an
-- object whose checks fail (its reply an error) writes nothing, and the
-- others are saved still; a later object sees what the earlier ones wrote
-- (a unique value taken by an earlier object of the call is taken).
-- KEYS: the KEYS of object 1's save.lua call, then object 2's, ...
-- ARGV[1] n, the number of objects; ARGV[2..] per object: k (its number of
--   KEYS), a (its number of ARGV items), then its a save.lua ARGV items
-- Reply: n items, object by object: its new version (decimal digits, or an
--   integer reply when savefast.lua saved it), or
--   the error message save.lua replied for it (a code word first: CONFLICT,
--   EXISTS, WRONGTYPE, DECODE, NOPERM)
local all_keys, all_args = KEYS, ARGV
local out = {}
local k, i = 1, 2
for o = 1, tonumber(all_args[1]) do
  local nk, na = tonumber(all_args[i]), tonumber(all_args[i + 1])
  -- savefast.lua's native path first, on the lists as they are; then
  -- save.lua's body, on the object's own KEYS and ARGV.
  local r = save_fast(all_keys, all_args, k - 1, i + 1, i + 1 + na)
  if r == nil then
    KEYS = each_slice(all_keys, k, k + nk - 1)
    ARGV = each_slice(all_args, i + 2, i + 1 + na)
    r = save_one()
    if type(r) == 'table' then r = r.err end
  end
  out[o] = r
  k, i = k + nk, i + 2 + na
end
return out
