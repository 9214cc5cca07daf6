-- intadd.lua: Int's add and sub (int.lua's ops "add" and "sub") on a field
-- without an index: int.lua's contract and replies, without index.lua's
-- code, which a call carries (and Redis makes anew) even when unused.
-- KEYS[1] hash; KEYS[2..ARGV[2]] the object's other keys
-- ARGV[1] TTL in ms to re-arm ("0": leave it); ARGV[2] number of object keys
-- ARGV[3] field; ARGV[4] op (add | sub); ARGV[5] operand (decimal int64)
-- Reply: the stored value after the operation (decimal string)
-- Errors: NOTFOUND, WRONGTYPE, DECODE (stored text or _v is not an int64),
--   INVALID (operand, op), OVERFLOW; nothing is written on any error.
local field, op, operand = ARGV[3], ARGV[4], ARGV[5]
local got, bad = read_object(true, field)
if bad then return bad end
local raw = got[2]
local out
-- Values of at most 15 digits are exact as doubles, and so is their sum.
local c, v = 0, nil
if raw and raw ~= '0' then
  local d = string.match(raw, '^%-?([1-9]%d*)$')
  c = d and #d <= 15 and tonumber(raw)
end
if operand == '0' then
  v = 0
else
  local d = string.match(operand, '^%-?([1-9]%d*)$')
  v = d and #d <= 15 and tonumber(operand)
end
if c and v and (op == 'add' or op == 'sub') then
  if op == 'add' then c = c + v else c = c - v end
  out = string.format('%d', c)
else
  local I = i64_load()
  local cur = I.parse(raw or '0')
  if not cur then return fail('DECODE', 'stored value is not an int64: ' .. string.sub(raw, 1, 40)) end
  local x = I.parse(operand)
  if not x then return fail('INVALID', 'operand is not an int64') end
  local r
  if op == 'add' then r = I.add(cur, x)
  elseif op == 'sub' then r = I.add(cur, { s = -x.s, m = x.m })
  else return fail('INVALID', 'unknown int op ' .. op) end
  if not r then return fail('OVERFLOW', op .. ' ' .. operand .. ' on ' .. (raw or '0') .. ' leaves int64') end
  out = I.str(r)
end
if out ~= raw then
  hset_bump(got[1], field, out) -- the value and the version in one HSET
end
touch()
return out
