-- lock.lua: named per-object locks with expiry (see lock.go).
-- KEYS[1] the object's hash; KEYS[2] the lock key; KEYS[3] (acquire) the
--   shard's fencing counters, a HASH of one counter per lock name (same hash
--   tag: one slot). It is never deleted, so tokens keep growing after the
--   object is deleted or expires.
-- ARGV[1] "0" (locks never touch the object's TTL); ARGV[2] "1"
-- ARGV[3] op; ARGV[4] owner token (random, 128 bits)
--   acquire ARGV[5] expiry in ms, ARGV[6] the lock's name (its counter's
--           field in KEYS[3]). Sets the lock key to the owner with PX when no
--           one holds it, then increments the counter.
--           Reply: {1, fencing token} acquired; {0, PTTL of the lock key}
--           held by another (the PTTL lets a waiter sleep no longer than the
--           lock can last).
--           Errors: NOTFOUND (no object), DECODE (the counter is not a
--           canonical decimal integer); nothing is written on an error.
--   extend  ARGV[5] expiry in ms: re-arms the lock key when the owner holds it.
--   release deletes the lock key when the owner holds it.
--           Reply (extend, release): 1 done; 0 the lock key is gone
--           (expired); -1 another owner holds it. Nothing is written unless 1.
local op, owner = ARGV[3], ARGV[4]

if op == 'acquire' then
  local _, bad = read_object(true)
  if bad then return bad end
  local c = redis.pcall('HGET', KEYS[3], ARGV[6])
  if type(c) == 'table' and c.err then return want_type(KEYS[3], 'hash') or c end
  if c and not (c == '0' or (#c <= 15 and string.match(c, '^[1-9]%d*$'))) then
    return fail('DECODE', 'fencing counter ' .. ARGV[6] .. ' is not a decimal integer')
  end
  if not redis.call('SET', KEYS[2], owner, 'NX', 'PX', ARGV[5]) then
    return {0, redis.call('PTTL', KEYS[2])}
  end
  return {1, redis.call('HINCRBY', KEYS[3], ARGV[6], '1')}
end

if op == 'extend' or op == 'release' then
  local v = redis.call('GET', KEYS[2])
  if v ~= owner then
    if v then return -1 end
    return 0
  end
  if op == 'extend' then
    redis.call('PEXPIRE', KEYS[2], ARGV[5])
  else
    redis.call('DEL', KEYS[2])
  end
  return 1
end

return fail('INVALID', 'unknown lock op ' .. tostring(op))
