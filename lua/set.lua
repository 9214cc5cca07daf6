-- set.lua: operations on a SET container of an object.
-- KEYS[1] hash; KEYS[2..ARGV[2]] the object's other keys
-- ARGV[1] TTL mode (prelude); ARGV[2] number of object keys
-- ARGV[3] index of the set's key in KEYS; ARGV[4] op; ARGV[5..] operands
--   sadd m...            -> how many members were added (SADD in slices)
--   srem m...            -> how many members were removed (SREM in slices)
--   spop                 -> the removed member, or nil when the set is empty
--   spopn n              -> the removed members (SPOP key n, n >= 0)
--   store cmd i...       -> the set's new members, after replacing the set by
--                           SUNIONSTORE/SINTERSTORE/SDIFFSTORE (cmd union,
--                           inter or diff) of itself and KEYS[i]..., each i a
--                           key of the object
-- The version is bumped only when the set changed. Errors: NOTFOUND,
-- WRONGTYPE (this set's key or an operand's), DECODE (_v), INVALID;
-- nothing is written on any error.
local key, e = open_container('set')
if not key then return e end
local op = ARGV[4]

-- each sends ARGV[5..] with cmd in slices (prelude's sliced) and returns
-- the sum of the replies.
local function each(cmd)
  return (sliced(cmd, key, nil, ARGV, 5, #ARGV))
end

if op == 'sadd' or op == 'srem' then
  local n = each(op == 'sadd' and 'SADD' or 'SREM')
  if n > 0 then bump() end
  touch()
  return n
end

if op == 'spop' then
  local m = redis.call('SPOP', key)
  if m then bump() end
  touch()
  return m
end

if op == 'spopn' then
  local n = tonumber(ARGV[5])
  if not n or n < 0 or n ~= math.floor(n) then return fail('INVALID', 'bad count') end
  local ms = redis.call('SPOP', key, ARGV[5])
  if #ms > 0 then bump() end
  touch()
  return ms
end

if op == 'store' then
  local cmd = ({ union = 'SUNIONSTORE', inter = 'SINTERSTORE', diff = 'SDIFFSTORE' })[ARGV[5]]
  if not cmd then return fail('INVALID', 'unknown set operation ' .. tostring(ARGV[5])) end
  local n, keys = tonumber(ARGV[2]), { key }
  for j = 6, #ARGV do
    local i = tonumber(ARGV[j])
    if not i or i < 2 or i > n then return fail('INVALID', 'key index out of range') end
    local bad = want_type(KEYS[i], 'set')
    if bad then return bad end
    keys[#keys + 1] = KEYS[i]
  end
  local before = redis.call('SCARD', key)
  -- The *STORE commands replace the key, dropping its TTL. touch() re-arms
  -- or inherits it in the other modes; with '0' (the model has no TTL, one
  -- may have been set by hand) the old TTL is put back.
  local pttl = ARGV[1] == '0' and redis.call('PTTL', key) or -1
  local after = redis.call(cmd, key, unpack(keys))
  if after == 0 then
    redis.call('DEL', key) -- miniredis keeps an empty key; Redis deletes it
  elseif pttl > 0 then
    redis.call('PEXPIRE', key, pttl)
  end
  -- union only grows the set, intersection and difference only shrink it:
  -- the content changed exactly when the size did.
  if after ~= before then bump() end
  touch()
  return redis.call('SMEMBERS', key)
end
return fail('INVALID', 'unknown op ' .. tostring(op))
