-- map.lua: operations on a HASH container of an object (Map, Counter; needs
-- int64.lua for incr and decr).
-- KEYS[1] hash; KEYS[2..ARGV[2]] the object's other keys
-- ARGV[1] TTL mode (prelude); ARGV[2] number of object keys
-- ARGV[3] index of the container's key in KEYS; ARGV[4] op; ARGV[5..] operands
--   hset k v [k v ...]  -> number of fields added (0 pairs: only the checks)
--   hdel k...           -> number of fields removed
--   pop k               -> the removed value, nil when k is absent
--   popitem             -> {k, v}: the entry with the smallest key in byte
--                          order, removed; {} when the map is empty
--   setnx k v           -> {1, v} when v was stored, {0, current} when k
--                          was already there
--   incr k d | decr k d -> the count after adding (subtracting) the decimal
--                          int64 d; an absent k counts as 0
-- Errors: NOTFOUND, WRONGTYPE, DECODE (_v), INVALID (odd pair count,
--   operand not an int64), DECODE (stored count not an int64), OVERFLOW; nothing is written
--   on any error.
local key, e = open_container('hash')
if not key then return e end
local op = ARGV[4]

-- each calls cmd(key, ARGV[5..]) in slices (prelude's sliced) and returns
-- the sum of the replies.
local function each(cmd)
  return (sliced(cmd, key, nil, ARGV, 5, #ARGV))
end

if op == 'hset' then
  if (#ARGV - 4) % 2 ~= 0 then return fail('INVALID', 'odd number of hset operands') end
  local n = 0
  if #ARGV > 4 then
    n = each('HSET')
    bump()
  end
  touch()
  return n
end

if op == 'hdel' then
  local n = each('HDEL')
  if n > 0 then bump() end
  touch()
  return n
end

if op == 'pop' then
  local v = redis.call('HGET', key, ARGV[5])
  if v then
    redis.call('HDEL', key, ARGV[5])
    bump()
  end
  touch()
  return v
end

if op == 'popitem' then
  -- The smallest key in byte order. Lua's own < on strings uses strcoll,
  -- which follows the server's locale, so the comparison is byte by byte,
  -- against the bytes of the current minimum kept in a table (one
  -- string.byte call per byte compared).
  -- bytes(s): the bytes of s in a table (string.byte returns them on the
  -- stack: at most 4000 at a time).
  local function bytes(s)
    if #s <= 4000 then return { string.byte(s, 1, -1) } end
    local t = {}
    for p = 1, #s, 4000 do
      local part = { string.byte(s, p, math.min(p + 3999, #s)) }
      for q = 1, #part do t[p + q - 1] = part[q] end
    end
    return t
  end
  local ks = redis.call('HKEYS', key)
  if #ks == 0 then
    touch()
    return {}
  end
  local k = ks[1]
  local kb, kn = bytes(k), #k
  for j = 2, #ks do
    local s = ks[j]
    local n, i = #s, 1
    if kn < n then n = kn end
    while i <= n do
      local x = string.byte(s, i)
      if x ~= kb[i] then
        if x < kb[i] then k = s; kb = bytes(s); kn = #s end
        break
      end
      i = i + 1
    end
    -- s is a proper prefix of the minimum
    if i > n and #s < kn then k = s; kb = bytes(s); kn = #s end
  end
  local v = redis.call('HGET', key, k)
  redis.call('HDEL', key, k)
  bump()
  touch()
  return { k, v }
end

if op == 'setnx' then
  local cur = redis.call('HGET', key, ARGV[5])
  if cur then
    touch()
    return { 0, cur }
  end
  redis.call('HSET', key, ARGV[5], ARGV[6])
  bump()
  touch()
  return { 1, ARGV[6] }
end

if op == 'incr' or op == 'decr' then
  local f, d = ARGV[5], ARGV[6]
  local raw = redis.call('HGET', key, f)
  -- small is the value of s when it is a canonical decimal integer of at
  -- most 15 digits (exact as a double), else nil.
  local function small(s)
    if s == '0' then return 0 end
    local m = string.match(s, '^%-?([1-9]%d*)$')
    if m and #m <= 15 then return tonumber(s) end
    return nil
  end
  local out
  -- Fast path: small values add exactly on doubles (|result| < 2^51).
  local c, v = 0, small(d)
  if raw then c = small(raw) end
  if c and v then
    if op == 'incr' then c = c + v else c = c - v end
    out = string.format('%d', c)
  else
    local I = i64_load()
    local cur = I.parse('0')
    if raw then
      cur = I.parse(raw)
      if not cur then return fail('DECODE', 'stored count is not an int64: ' .. string.sub(raw, 1, 40)) end
    end
    local x = I.parse(d)
    if not x then return fail('INVALID', 'operand is not an int64') end
    if op == 'decr' then x = { s = -x.s, m = x.m } end
    local r = I.add(cur, x)
    if not r then
      return fail('OVERFLOW', op .. ' ' .. d .. ' on ' .. (raw or '0') .. ' leaves int64')
    end
    out = I.str(r)
  end
  if out ~= raw then
    redis.call('HSET', key, f, out)
    bump()
  end
  touch()
  return out
end

return fail('INVALID', 'unknown map op ' .. tostring(op))
