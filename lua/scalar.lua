-- scalar.lua: string-valued read-modify-write on one hash field.
-- KEYS[1] hash; KEYS[2..ARGV[2]] the object's other keys
-- ARGV[1] TTL in ms to re-arm ("0": leave it); ARGV[2] number of object keys
-- ARGV[3] field; ARGV[4] op; ARGV[5..] operands
--   append s    -> the new value (an absent field counts as "")
--   repeat n    -> the new value (n >= 0)
--   toggle      -> the new value, "1" or "0" (an absent field counts as false)
--   setnx v     -> {1, v} when the field was absent and is now v, else {0, stored}
--   cas old new -> {1, new} when the stored text equalled old, else {0, stored or nil}
-- Errors: NOTFOUND, WRONGTYPE, DECODE (also of _v), INVALID (a result over 512 MB, bad operand);
--   nothing is written on any error.
local field, op = ARGV[3], ARGV[4]
local got, bad = read_object(true, field)
if bad then return bad end
local raw = got[2]
local limit = 512 * 1024 * 1024

-- store writes v (checking and updating the field's index, if any) and
-- returns an error reply when a unique index refuses v.
local function store(v)
  if v ~= raw then
    local e, sec = idx_field_check(field, v)
    if e then return e end
    hset_bump(got[1], field, v)
    if sec then idx_apply(sec) end
  end
  touch()
end

if op == 'append' then
  local cur = raw or ''
  if #cur + #ARGV[5] > limit then return fail('INVALID', 'append result exceeds 512 MB') end
  local out = cur .. ARGV[5]
  local e = store(out)
  if e then return e end
  return out
elseif op == 'repeat' then
  local n = tonumber(ARGV[5])
  local cur = raw or ''
  if not n or n < 0 or n ~= math.floor(n) then return fail('INVALID', 'repeat count must be a non-negative integer') end
  if #cur * n > limit then return fail('INVALID', 'repeat result exceeds 512 MB') end
  -- string.rep loops n times even for an empty string: a huge n would
  -- block the server.
  local out = ''
  if #cur > 0 then out = string.rep(cur, n) end
  local e = store(out)
  if e then return e end
  return out
elseif op == 'toggle' then
  local out
  if raw == '1' or raw == 'true' then out = '0'
  elseif not raw or raw == '0' or raw == 'false' then out = '1'
  else return fail('DECODE', 'stored value is not a boolean: ' .. string.sub(raw, 1, 40)) end
  local e = store(out)
  if e then return e end
  return out
elseif op == 'setnx' then
  if raw then
    touch()
    return { 0, raw }
  end
  local e = store(ARGV[5])
  if e then return e end
  return { 1, ARGV[5] }
elseif op == 'cas' then
  if raw ~= ARGV[5] then
    touch()
    return { 0, raw or false }
  end
  local e = store(ARGV[6])
  if e then return e end
  return { 1, ARGV[6] }
end
return fail('INVALID', 'unknown op ' .. op)
