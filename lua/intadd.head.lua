-- intadd.head.lua: intadd.lua's fast path on Redis (redis.REDIS_VERSION is
-- set), run before the libraries are defined. Native HINCRBY does the
-- arithmetic, exact over int64; it refuses, writing nothing, a result
-- outside int64 and stored text that is not a canonical decimal int64 (what
-- int64.lua's parser accepts too). So this path parses and formats no
-- number in Lua: the strtod and sprintf behind tonumber and string.format,
-- and the library closures made anew on every call, were most of
-- intadd.lua's server time (callgrind: about 36,000 instructions per call
-- over an empty script's, 19,000 here).
--
-- What it does not finish it leaves to intadd.lua's own path, having
-- written nothing (it returns nil): the embedded server (miniredis's
-- HINCRBY wraps on overflow and accepts "+1" or "007"), TTL mode "keep", a
-- zero operand (intadd.lua writes nothing then), sub of the least int64
-- (its negation is not an int64), and every error: no object, a hash
-- without a version, the wrong type, an ACL refusal, stored text that is not
-- an int64, overflow, a version that is not a non-negative integer. That
-- path then replies what it always did. Its contract is intadd.lua's; the
-- value comes as an integer reply (decimal text past 2^53, where a double
-- is not exact).
--
-- Self-contained: it runs before prelude.lua, so it uses nothing of it
-- (TestScriptsReadOnlyBuiltins: a library name used here would read a global).
if not redis.REDIS_VERSION or ARGV[1] == 'keep' then return nil end
local key, field, x, op = KEYS[1], ARGV[3], ARGV[5], ARGV[4]
if x == '0' or (op ~= 'add' and op ~= 'sub') then return nil end
-- d is the delta HINCRBY adds: x, or for sub -x (x's text without or with
-- its '-': x is a canonical int64, not 0). Made only for sub: a string
-- made on every call costs the common add its interning.
local d = x
if op == 'sub' then d = string.byte(x) == 45 and string.sub(x, 2) or '-' .. x end
-- The version's presence is the object's (read_object's rule); an error
-- (the wrong type, an ACL refusal) is not 1 either.
if redis.pcall('HEXISTS', key, '_v') ~= 1 then return nil end
local r = redis.pcall('HINCRBY', key, field, d)
if type(r) ~= 'number' then return nil end
local v = redis.pcall('HINCRBY', key, '_v', '1')
if type(v) ~= 'number' or v < 1 then
  -- The version is not an integer, or was negative: undo the add exactly
  -- (the script is atomic: no one saw it) and let intadd.lua say why. The
  -- undo adds -d (made as d was for sub).
  local undo = string.byte(d) == 45 and string.sub(d, 2) or '-' .. d
  if undo == '9223372036854775808' then -- 2^63: not an int64, in two steps
    redis.call('HINCRBY', key, field, '9223372036854775807')
    undo = '1'
  end
  redis.call('HINCRBY', key, field, undo)
  if type(v) == 'number' then redis.call('HINCRBY', key, '_v', -1) end
  return nil
end
head_bumped = v
local ttl = ARGV[1]
if ttl ~= '0' then
  for i = 1, tonumber(ARGV[2]) do redis.call('PEXPIRE', KEYS[i], ttl) end
end
if r >= 9007199254740992 or r <= -9007199254740992 then return redis.call('HGET', key, field) end
return r
