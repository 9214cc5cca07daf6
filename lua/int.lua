-- int.lua: exact int64 read-modify-write on one hash field (needs int64.lua).
-- KEYS[1] hash; KEYS[2..ARGV[2]] the object's other keys
-- ARGV[1] TTL in ms to re-arm ("0": leave it); ARGV[2] number of object keys
-- ARGV[3] field; ARGV[4] op; ARGV[5] operand (decimal int64)
--   op: add | sub | mul | floordiv | mod | pow | max | min
--   An absent field counts as 0 (max and min: the operand is stored).
-- Reply: the stored value after the operation (decimal string)
-- Errors: NOTFOUND, WRONGTYPE, DECODE (stored text or _v is not an int64), INVALID (operand,
--   negative exponent), OVERFLOW, DIVZERO; nothing is written on any error.
local field, op = ARGV[3], ARGV[4]
-- One HMGET reads the version (its absence means no object) and the field.
local got, bad = read_object(true, field)
if bad then return bad end
local raw = got[2]

-- small is the value of s when it is a canonical decimal integer of at most
-- 15 digits (exact as a double), else nil.
local function small(s)
  if s == '0' then return 0 end
  local d = string.match(s, '^%-?([1-9]%d*)$')
  if d and #d <= 15 then return tonumber(s) end
  return nil
end

local out
-- Fast path: add and sub of small values are exact on doubles (|result| <
-- 2^51). Everything else goes through int64.lua's exact arithmetic.
if op == 'add' or op == 'sub' then
  local c, v = 0, small(ARGV[5])
  if raw then c = small(raw) end
  if c and v then
    if op == 'add' then c = c + v else c = c - v end
    out = string.format('%d', c)
  end
end
if not out then
  local I = i64_load()
  local cur = I.parse('0')
  if raw then
    cur = I.parse(raw)
    if not cur then return fail('DECODE', 'stored value is not an int64: ' .. string.sub(raw, 1, 40)) end
  end
  local x = I.parse(ARGV[5])
  if not x then return fail('INVALID', 'operand is not an int64') end
  local r, err
  if op == 'add' then r, err = I.add(cur, x)
  elseif op == 'sub' then r, err = I.add(cur, { s = -x.s, m = x.m })
  elseif op == 'mul' then r, err = I.mul(cur, x)
  elseif op == 'floordiv' then r, err = I.floordiv(cur, x)
  elseif op == 'mod' then r, err = I.mod(cur, x)
  elseif op == 'pow' then
    if x.s < 0 then return fail('INVALID', 'negative exponent ' .. ARGV[5]) end
    r, err = I.pow(cur, x)
  elseif op == 'max' then
    if not raw or I.cmp(x, cur) > 0 then r = x else r = cur end
  elseif op == 'min' then
    if not raw or I.cmp(x, cur) < 0 then r = x else r = cur end
  else return fail('INVALID', 'unknown int op ' .. op) end
  if not r then
    if err == 'DIVZERO' then return fail('DIVZERO', op .. ' by zero') end
    return fail('OVERFLOW', op .. ' ' .. ARGV[5] .. ' on ' .. (raw or '0') .. ' leaves int64')
  end
  out = I.str(r)
end
if out ~= raw then
  local e, sec = idx_field_check(field, out)
  if e then return e end
  hset_bump(got[1], field, out) -- the value and the version in one HSET
  if sec then idx_apply(sec) end
end
touch()
return out
