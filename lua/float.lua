-- float.lua: float64 read-modify-write on one hash field, with Go's and
-- Python's IEEE-754 double semantics (Lua numbers are doubles).
-- KEYS[1] hash; KEYS[2..ARGV[2]] the object's other keys
-- ARGV[1] TTL in ms to re-arm ("0": leave it); ARGV[2] number of object keys
-- ARGV[3] field; ARGV[4] op; ARGV[5] operand (finite decimal float)
--   op: add | mul | div | floordiv | mod | pow   (floordiv, mod: floored, as Python)
--   An absent field counts as 0.
-- Reply: the stored value after the operation (text that round-trips)
-- Errors: NOTFOUND, WRONGTYPE, DECODE (also of _v), INVALID (operand, NaN result), OVERFLOW (±Inf
--   result), DIVZERO; nothing is written on any error.
--
-- Two quirks of the embedded server (gopher-lua) shape this script: math.huge
-- is the largest finite double there, not infinity, so INF is 1/0; and an
-- arithmetic result of -0 is stored as +0, so the sign of a zero result is
-- worked out from the operands by IEEE-754's rules and written as text.
local field, op = ARGV[3], ARGV[4]
local got, bad = read_object(true, field)
if bad then return bad end
local raw = got[2]
local INF = 1 / 0
local function finite(v) return v and v == v and v ~= INF and v ~= -INF end
-- parse reads decimal text only (sign, digits with an optional point, an
-- optional exponent): the text the float64 codec and HINCRBYFLOAT write.
-- tonumber alone would also take hex ("0x10"), spaces (" 1"), "inf" and
-- "nan"; and the embedded server's tonumber reads a number without a point
-- as an integer ("1e+06" fails), so a point is added before calling it.
-- The second result says whether s is negative (-0 included).
local function parse(s)
  local sign, mant, exp = string.match(s, '^([+-]?)([%d%.]+)(.*)$')
  if not mant or not (string.find(mant, '^%d+%.?%d*$') or string.find(mant, '^%.%d+$')) then return nil end
  if exp ~= '' and not string.find(exp, '^[eE][+-]?%d+$') then return nil end
  if not string.find(mant, '.', 1, true) then mant = mant .. '.' end
  return tonumber(sign .. mant .. exp), sign == '-'
end
local a, aneg = 0, false
if raw then
  a, aneg = parse(raw)
  if not finite(a) then return fail('DECODE', 'stored value is not a float64: ' .. string.sub(raw, 1, 40)) end
end
local b, bneg = parse(ARGV[5])
if not finite(b) then return fail('INVALID', 'operand is not a finite float64') end

-- Python's float_divmod: floor quotient and floored remainder, each with
-- whether it is negative (which only matters when it is zero).
local function pydivmod(x, xneg, y, yneg)
  local mod = math.fmod(x, y)
  local div = (x - mod) / y
  local modneg = false
  if mod ~= 0 then
    if (y < 0) ~= (mod < 0) then
      mod = mod + y
      div = div - 1
    end
    modneg = mod < 0
  else
    mod, modneg = 0, yneg -- zero with the sign of y
  end
  local fd, fdneg
  if div ~= 0 then
    fd = math.floor(div)
    if div - fd > 0.5 then fd = fd + 1 end
    fdneg = fd < 0
  else
    fd, fdneg = 0, xneg ~= yneg -- zero with the sign of x / y
  end
  return fd, fdneg, mod, modneg
end

-- r is the result; rneg whether it is negative, for a zero r (IEEE-754,
-- rounding to nearest): a sum is -0 only when both terms are -0; a product
-- or quotient takes the exclusive or of the signs; a power is -0 only for a
-- negative base and an odd integer exponent.
local r, rneg
if op == 'add' then r, rneg = a + b, aneg and bneg
elseif op == 'mul' then r, rneg = a * b, aneg ~= bneg
elseif op == 'div' then
  if b == 0 then return fail('DIVZERO', 'div by zero') end
  r, rneg = a / b, aneg ~= bneg
elseif op == 'floordiv' or op == 'mod' then
  if b == 0 then return fail('DIVZERO', op .. ' by zero') end
  local q, qneg, m, mneg = pydivmod(a, aneg, b, bneg)
  if op == 'floordiv' then r, rneg = q, qneg else r, rneg = m, mneg end
elseif op == 'pow' then
  if a == 0 and b < 0 then return fail('DIVZERO', 'zero to a negative power') end
  r = a ^ b
  rneg = aneg and b == math.floor(b) and math.fmod(b, 2) ~= 0
else return fail('INVALID', 'unknown float op ' .. op) end
if r ~= r then return fail('INVALID', op .. ' ' .. ARGV[5] .. ' on ' .. (raw or '0') .. ' is not a number') end
if r == INF or r == -INF then
  return fail('OVERFLOW', op .. ' ' .. ARGV[5] .. ' on ' .. (raw or '0') .. ' leaves float64')
end
local out
if r == 0 then
  out = rneg and '-0' or '0'
else
  for p = 15, 17 do
    out = string.format('%.' .. p .. 'g', r)
    if parse(out) == r then break end
  end
end
if out ~= raw then
  local e, sec = idx_field_check(field, out)
  if e then return e end
  hset_bump(got[1], field, out)
  if sec then idx_apply(sec) end
end
touch()
return out
