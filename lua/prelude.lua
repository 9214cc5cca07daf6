-- prelude.lua: prepended to every rapyer script.
--
-- Conventions shared by all scripts:
--   KEYS[1]            the object's hash
--   KEYS[2..ARGV[2]]   the object's other keys (container fields)
--   KEYS[ARGV[2]+1..]  other keys the script needs (indexes), never touched
--   ARGV[1]            TTL in milliseconds to re-arm on the object's keys,
--                      "0" to leave every TTL as it is
--   ARGV[2]            how many of KEYS belong to the object
--   ARGV[3..]          the script's own arguments
--
-- Error replies start with a code word that the Go side maps to a sentinel:
--   NOTFOUND, EXISTS, CONFLICT, OVERFLOW, DIVZERO, DECODE, INVALID.
-- Every check runs before the first write: a script that fails writes nothing.

local function fail(code, msg)
  return redis.error_reply(code .. ' ' .. msg)
end

local function object_exists()
  return redis.call('EXISTS', KEYS[1]) == 1
end

-- touch re-arms the TTL of every key of the object when ARGV[1] is not "0".
local function touch()
  local ttl = ARGV[1]
  if ttl ~= '0' then
    for i = 1, tonumber(ARGV[2]) do
      redis.call('PEXPIRE', KEYS[i], ttl)
    end
  end
end

-- bump increments the object's version counter.
local function bump()
  redis.call('HINCRBY', KEYS[1], '_v', 1)
end
