-- savemany.lua: Save of several objects of one hash slot in one script
-- call, each object exactly as save.lua saves it (save.lua's body runs as
-- save_one, once per object, KEYS and ARGV bound to that object's own: see
-- lua.go, buildEach). The objects run in order, each atomic on its own: an
-- object whose checks fail (its reply an error) writes nothing, and the
-- others are saved still; a later object sees what the earlier ones wrote
-- (a unique value taken by an earlier object of the call is taken).
-- KEYS: the KEYS of object 1's save.lua call, then object 2's, ...
-- ARGV[1] n, the number of objects; ARGV[2] the TTL mode and ARGV[3] the
--   model's TTL of the objects in a compact form; ARGV[4] sp, the call's
--   shape: then its sp field names (0 when no object uses it); then per
--   object: its shape form, for an object in the compact case with those
--   fields present and no other: "s", then its sp values, in the shape's
--   order (no field to remove); its
--   compact form, for an object with one key, no version check and no
--   index: "f", p (pairs), x (fields to remove), its p field/value pairs,
--   its x field names (nine items fewer than the full form, the ones that
--   would repeat; savefast.lua saves it on Redis); or its full form: k (its
--   number of KEYS), a (its number of ARGV items), then its a save.lua
--   ARGV items. (Every item the shape spares is one the server does not
--   parse: a Profile of six fields costs a quarter less than in the
--   compact form.)
-- Reply: n items, object by object: its new version (decimal digits, or an
--   integer reply when savefast.lua saved it), or the error message
--   save.lua replied for it (a code word first: CONFLICT, EXISTS,
--   WRONGTYPE, DECODE, NOPERM)
local all_keys, all_args = KEYS, ARGV
local mode, model_ttl = all_args[2], all_args[3]
local sp = all_args[4]
local sn = tonumber(sp)
-- the shape's pairs: names at odd places, each object's values put at the
-- even ones in turn (savefast.lua's layout)
local shape = {}
for j = 1, sn do shape[2 * j - 1] = all_args[4 + j] end
local out = {}
local k, i = 1, 5 + sn
for o = 1, tonumber(all_args[1]) do
  local r
  local form = all_args[i]
  if form == 's' or form == 'f' then
    local A, from, p, x, n, nx = shape, 1, sp, '0', sn, 0
    if form == 's' then
      for j = 1, sn do shape[2 * j] = all_args[i + j] end
      i = i + 1 + sn
    else
      A, from, p, x = all_args, i + 3, all_args[i + 1], all_args[i + 2]
      n, nx = tonumber(p), tonumber(x)
      i = from + 2 * n + nx
    end
    r = save_fast(all_keys[k], A, from, n, nx, mode, model_ttl)
    if r == nil then
      -- save.lua's own KEYS and ARGV, the compact form's items restored
      KEYS = { all_keys[k] }
      ARGV = { mode, '1', model_ttl, '', p, x }
      for j = from, from + 2 * n + nx - 1 do ARGV[#ARGV + 1] = A[j] end
      ARGV[#ARGV + 1] = '0'
      r = save_one()
    end
    k = k + 1
  else
    local nk, na = tonumber(form), tonumber(all_args[i + 1])
    KEYS = each_slice(all_keys, k, k + nk - 1)
    ARGV = each_slice(all_args, i + 2, i + 1 + na)
    r = save_one()
    k, i = k + nk, i + 2 + na
  end
  if type(r) == 'table' then r = r.err end
  out[o] = r
end
return out
