-- zset.lua: operations on a ZSET (sorted set) container of an object.
-- KEYS[1] hash; KEYS[2..ARGV[2]] the object's other keys
-- ARGV[1] TTL mode (prelude); ARGV[2] number of object keys
-- ARGV[3] index of the sorted set's key in KEYS; ARGV[4] op; ARGV[5..] operands
--   zadd s m s m...  -> the number of members added (ZADD CH; the version is
--                       bumped when a member was added or a score changed)
--   incr d m         -> the new score (ZINCRBY), as Redis prints it
--   popmin n         -> flat member, score list, lowest first (ZPOPMIN)
--   popmax n         -> flat member, score list, highest first (ZPOPMAX)
--   zrem m...        -> the number of members removed (ZREM)
-- Scores come in as the Go side prints them ("+inf", "-inf", shortest
-- decimal; never NaN) and are handed to Redis as text, never through a Lua
-- number. Counts (n) are passed through as text too.
-- Errors: NOTFOUND, WRONGTYPE, DECODE (_v), INVALID (unknown op; an
-- increment whose result would be NaN: +inf plus -inf); nothing is written
-- on any error.
local key, e = open_container('zset')
if not key then return e end
local op = ARGV[4]

-- each sends ARGV[from..] with cmd (and opt) in slices (prelude's sliced)
-- and returns the sum of the integer replies.
local function each(cmd, opt, from)
  return (sliced(cmd, key, opt, ARGV, from, #ARGV))
end

-- infsign is 1 for a score text of +infinity, -1 for -infinity, else 0.
-- Redis prints "inf"/"-inf"; the Go side sends "+inf"/"-inf".
local function infsign(s)
  s = string.lower(s)
  if s == 'inf' or s == '+inf' then return 1 end
  if s == '-inf' then return -1 end
  return 0
end

if op == 'zadd' then
  local before = redis.call('ZCARD', key)
  local changed = each('ZADD', 'CH', 5)
  local added = redis.call('ZCARD', key) - before
  if changed > 0 then bump() end
  touch()
  return added
end

if op == 'incr' then
  local d, m = ARGV[5], ARGV[6]
  local cur = redis.call('ZSCORE', key, m)
  local zero = d == '0' or d == '-0' -- the Go side prints zero so
  if cur then
    local c = infsign(cur)
    if c ~= 0 and c == -infsign(d) then
      return fail('INVALID', 'score ' .. cur .. ' plus ' .. d .. ' is not a number (NaN)')
    end
  end
  local s = redis.call('ZINCRBY', key, d, m)
  if not (cur and zero) then bump() end
  touch()
  return s
end

if op == 'popmin' or op == 'popmax' then
  local r = redis.call(op == 'popmin' and 'ZPOPMIN' or 'ZPOPMAX', key, ARGV[5])
  if #r > 0 then bump() end
  touch()
  return r
end

if op == 'zrem' then
  local n = each('ZREM', nil, 5)
  if n > 0 then bump() end
  touch()
  return n
end
return fail('INVALID', 'unknown op ' .. tostring(op))
