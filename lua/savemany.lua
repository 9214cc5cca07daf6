-- savemany.lua: Save of several objects of one hash slot in one script
-- call, each object exactly as save.lua saves it (save.lua's body runs as
-- save_one, once per object, KEYS and ARGV bound to that object's own: see
-- lua.go, buildEach). The objects run in order, each atomic on its own: an
-- object whose checks fail (its reply an error) writes nothing, and the
-- others are saved still; a later object sees what the earlier ones wrote
-- (a unique value taken by an earlier object of the call is taken).
-- KEYS: the KEYS of object 1's save.lua call, then object 2's, ...
-- ARGV[1] n, the number of objects; ARGV[2] the TTL mode and ARGV[3] the
--   model's TTL of the objects in compact form; ARGV[4..] per object,
--   either its full form: k (its number of KEYS), a (its number of ARGV
--   items), then its a save.lua ARGV items; or its compact form, for an
--   object with one key, no version check and no index: "f", p (pairs), x
--   (fields to remove), its p field/value pairs, its x field names (nine
--   items fewer, the ones that would repeat; savefast.lua saves it on Redis)
-- Reply: n items, object by object: its new version (decimal digits, or an
--   integer reply when savefast.lua saved it), or the error message
--   save.lua replied for it (a code word first: CONFLICT, EXISTS,
--   WRONGTYPE, DECODE, NOPERM)
local all_keys, all_args = KEYS, ARGV
local mode, model_ttl = all_args[2], all_args[3]
local out = {}
local k, i = 1, 4
for o = 1, tonumber(all_args[1]) do
  local r
  if all_args[i] == 'f' then
    local p, x = all_args[i + 1], all_args[i + 2]
    local n, nx = tonumber(p), tonumber(x)
    local from, to = i + 3, i + 2 + 2 * n + nx
    r = save_fast(all_keys[k], all_args, from, n, nx, mode, model_ttl)
    if r == nil then
      -- save.lua's own KEYS and ARGV, the compact form's items restored
      KEYS = { all_keys[k] }
      ARGV = { mode, '1', model_ttl, '', p, x }
      for j = from, to do ARGV[#ARGV + 1] = all_args[j] end
      ARGV[#ARGV + 1] = '0'
      r = save_one()
    end
    k, i = k + 1, to + 1
  else
    local nk, na = tonumber(all_args[i]), tonumber(all_args[i + 1])
    KEYS = each_slice(all_keys, k, k + nk - 1)
    ARGV = each_slice(all_args, i + 2, i + 1 + na)
    r = save_one()
    k, i = k + nk, i + 2 + na
  end
  if type(r) == 'table' then r = r.err end
  out[o] = r
end
return out
