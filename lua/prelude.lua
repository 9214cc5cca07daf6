-- prelude.lua: prepended to every rapyer script.
--
-- Conventions shared by all scripts:
--   KEYS[1]            the object's hash
--   KEYS[2..ARGV[2]]   the object's other keys (container fields)
--   KEYS[ARGV[2]+1..]  other keys the script needs (indexes), never touched
--   ARGV[1]            TTL mode: milliseconds to re-arm on every key of the
--                      object; "0" to leave every TTL as it is (no TTL);
--                      "keep" (refresh off): leave TTLs, but a container key
--                      the script created inherits the hash's remaining TTL
--   ARGV[2]            how many of KEYS belong to the object
--   ARGV[3..]          the script's own arguments
--
-- Error replies start with a code word that the Go side maps to a sentinel:
--   NOTFOUND, EXISTS, CONFLICT, OVERFLOW, DIVZERO, DECODE, INVALID, EMPTY,
--   RANGE.
-- Every check runs before the first write: a script that fails writes nothing.

local function fail(code, msg)
  return redis.error_reply(code .. ' ' .. msg)
end

local function object_exists()
  return redis.call('EXISTS', KEYS[1]) == 1
end

-- touch applies the TTL mode of ARGV[1] to every key of the object. Call it
-- after the writes.
local function touch()
  local ttl = ARGV[1]
  if ttl == '0' then return end
  local n = tonumber(ARGV[2])
  if ttl == 'keep' then
    local left
    for i = 2, n do
      if redis.call('PTTL', KEYS[i]) == -1 then
        left = left or redis.call('PTTL', KEYS[1])
        if left > 0 then redis.call('PEXPIRE', KEYS[i], left) end
      end
    end
    return
  end
  for i = 1, n do
    redis.call('PEXPIRE', KEYS[i], ttl)
  end
end

-- bumped is the version a write left, false while the script wrote nothing
-- (a field script's Versioned twin replies it: see lua.go).
local bumped = false

-- bump increments the object's version counter.
local function bump()
  bumped = redis.call('HINCRBY', KEYS[1], '_v', 1)
end

-- sliced calls cmd(key, [opt,] t[from..to]) in slices of at most 4000
-- values (Lua's unpack fails near 8000; 4000 is even, so pairs stay whole)
-- and returns the sum of the integer replies and the last reply.
local function sliced(cmd, key, opt, t, from, to)
  local sum, last = 0, nil
  while from <= to do
    local e = math.min(from + 3999, to)
    if opt then
      last = redis.call(cmd, key, opt, unpack(t, from, e))
    else
      last = redis.call(cmd, key, unpack(t, from, e))
    end
    if type(last) == 'number' then sum = sum + last end
    from = e + 1
  end
  return sum, last
end

-- write_containers replaces container contents, reading blocks from
-- ARGV[i..last] (last defaults to #ARGV): key index (into KEYS, plus base,
-- default 0), kind (l list, h hash, s set, z zset), count c, then c items in
-- the order RPUSH, HSET, SADD or ZADD take them.
local writers = { l = 'RPUSH', h = 'HSET', s = 'SADD', z = 'ZADD' }
local function write_containers(i, last, base)
  last, base = last or #ARGV, base or 0
  while i <= last do
    local key, c = KEYS[base + tonumber(ARGV[i])], tonumber(ARGV[i + 2])
    redis.call('DEL', key)
    sliced(writers[ARGV[i + 1]], key, nil, ARGV, i + 3, i + 2 + c)
    i = i + 3 + c
  end
end
