-- float.lua: float64 read-modify-write on one hash field, with Go's and
-- Python's IEEE-754 double semantics (Lua numbers are doubles).
-- KEYS[1] hash; KEYS[2..ARGV[2]] the object's other keys
-- ARGV[1] TTL in ms to re-arm ("0": leave it); ARGV[2] number of object keys
-- ARGV[3] field; ARGV[4] op; ARGV[5] operand (finite decimal float)
--   op: add | mul | div | floordiv | mod | pow   (floordiv, mod: floored, as Python)
--   An absent field counts as 0.
-- Reply: the stored value after the operation (shortest text that round-trips)
-- Errors: NOTFOUND, DECODE, INVALID (operand, NaN result), OVERFLOW (±Inf
--   result), DIVZERO; nothing is written on any error.
if not object_exists() then return fail('NOTFOUND', 'object does not exist') end
local field, op = ARGV[3], ARGV[4]
local raw = redis.call('HGET', KEYS[1], field)
local function finite(v) return v and v == v and v ~= math.huge and v ~= -math.huge end
local a = 0
if raw then
  a = tonumber(raw)
  if not finite(a) then return fail('DECODE', 'stored value is not a float64: ' .. string.sub(raw, 1, 40)) end
end
local b = tonumber(ARGV[5])
if not finite(b) then return fail('INVALID', 'operand is not a finite float64') end

-- Python's float_divmod
local function pydivmod(x, y)
  local mod = math.fmod(x, y)
  local div = (x - mod) / y
  if mod ~= 0 then
    if (y < 0) ~= (mod < 0) then
      mod = mod + y
      div = div - 1
    end
  else
    mod = 0 * y -- zero with the sign of y
  end
  local fd
  if div ~= 0 then
    fd = math.floor(div)
    if div - fd > 0.5 then fd = fd + 1 end
  else
    fd = 0 * (x / y)
  end
  return fd, mod
end

local r
if op == 'add' then r = a + b
elseif op == 'mul' then r = a * b
elseif op == 'div' then
  if b == 0 then return fail('DIVZERO', 'div by zero') end
  r = a / b
elseif op == 'floordiv' or op == 'mod' then
  if b == 0 then return fail('DIVZERO', op .. ' by zero') end
  local q, m = pydivmod(a, b)
  if op == 'floordiv' then r = q else r = m end
elseif op == 'pow' then
  if a == 0 and b < 0 then return fail('DIVZERO', 'zero to a negative power') end
  r = a ^ b
else return fail('INVALID', 'unknown float op ' .. op) end
if r ~= r then return fail('INVALID', op .. ' ' .. ARGV[5] .. ' on ' .. (raw or '0') .. ' is not a number') end
if r == math.huge or r == -math.huge then
  return fail('OVERFLOW', op .. ' ' .. ARGV[5] .. ' on ' .. (raw or '0') .. ' leaves float64')
end
local out
for p = 15, 17 do
  out = string.format('%.' .. p .. 'g', r)
  if tonumber(out) == r then break end
end
if out ~= raw then
  redis.call('HSET', KEYS[1], field, out)
  bump()
end
touch()
return out
