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
--   NOTFOUND, EXISTS, CONFLICT, OVERFLOW, DIVZERO, DECODE, INVALID, RANGE,
--   WRONGTYPE.
-- Every check runs before the first write: a script that fails writes
-- nothing. That includes stored data of the wrong shape: before writing, a
-- script has read the hash with read_object (a hash or nothing; `_v` an
-- integer) and checked with want_type each other key it is about to write
-- (open_container, idx_guard), and fails with "WRONGTYPE <key> holds
-- <type>, want <type>" or "DECODE <key> field _v ..." otherwise.

local function fail(code, msg)
  return redis.error_reply(code .. ' ' .. msg)
end

local function object_exists()
  return redis.call('EXISTS', KEYS[1]) == 1
end

-- want_type checks that key holds the Redis type want or nothing, with one
-- TYPE call: it returns nil and the type, or the WRONGTYPE error reply.
local function want_type(key, want)
  local t = redis.call('TYPE', key)
  t = t.ok or t
  if t ~= want and t ~= 'none' then
    return fail('WRONGTYPE', key .. ' holds ' .. t .. ', want ' .. want), t
  end
  return nil, t
end

-- read_object reads the hash's `_v` and the given fields in one HMGET:
-- got[1] is the version (false: no object), got[2..] the fields. It
-- returns nil and an error reply when KEYS[1] is not a hash, its `_v` is
-- not a decimal integer, or (with must) the object does not exist: the
-- checks every write makes of the hash, at the price of the read it needs
-- anyway.
local function read_object(must, ...)
  local got = redis.pcall('HMGET', KEYS[1], '_v', ...)
  if got.err then
    if string.find(got.err, "can't run this command", 1, true) then
      return nil, fail('NOPERM', "script may not run 'hmget' on " .. KEYS[1] .. ' (ACL)')
    end
    return nil, want_type(KEYS[1], 'hash') or got
  end
  local v = got[1]
  if not v then
    if must then return nil, fail('NOTFOUND', 'object does not exist') end
  elseif not string.find(v, '^%d+$') then
    return nil, fail('DECODE', KEYS[1] .. ' field _v is not a decimal integer: ' .. string.sub(v, 1, 40))
  end
  return got
end

-- next_version is the text of version v (read_object's got[1], decimal
-- digits; false: none yet) plus one, exact at any length (a Lua double is
-- not past 2^53), for the script's HSET to write instead of a HINCRBY.
local function next_version(v)
  if not v then return '1' end
  if #v <= 15 then return string.format('%d', tonumber(v) + 1) end
  local head, nines = string.match(v, '^(%d-)(9*)$')
  local zeros = string.rep('0', #nines)
  if head == '' then return '1' .. zeros end
  return string.sub(head, 1, -2) .. string.char(string.byte(head, -1) + 1) .. zeros
end

-- open_container starts a container script: the object must exist (a
-- valid hash) and the container's key, KEYS[ARGV[3]], must hold kind (a
-- Redis type name) or nothing. It returns the key, or nil and an error
-- reply.
-- acl_refusal returns, as a NOPERM error reply naming it, the first of
-- checks ({command, key, args...}) that the server's ACL refuses to this
-- user (Redis 7's redis.acl_check_cmd; the embedded server has no ACL), or
-- nil. Write scripts ask before their first write, so a refusal writes
-- nothing.
local function acl_refusal(checks)
  if not redis.acl_check_cmd then return nil end
  for _, c in ipairs(checks) do
    if not redis.acl_check_cmd(unpack(c)) then
      return fail('NOPERM', "script may not run '" .. string.lower(c[1]) .. "' on " .. c[2] .. ' (ACL): nothing written')
    end
  end
  return nil
end

local function open_container(kind)
  local _, e = read_object(true)
  if e then return nil, e end
  local key = KEYS[tonumber(ARGV[3])]
  e = want_type(key, kind)
  if e then return nil, e end
  if redis.acl_check_cmd then
    -- The container's own command is the first write (refused: nothing
    -- written); the version bump and the TTL refresh come after it.
    local checks = { { 'HINCRBY', KEYS[1], '_v', '1' } }
    if ARGV[1] ~= '0' then
      for i = 1, tonumber(ARGV[2]) do checks[#checks + 1] = { 'PEXPIRE', KEYS[i], '1' } end
    end
    e = acl_refusal(checks)
    if e then return nil, e end
  end
  return key
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
  bumped = redis.call('HINCRBY', KEYS[1], '_v', '1')
end

-- hset_bump writes field = value and bumps the version in one HSET: v is
-- the stored version as read_object read it (got[1]; false: none), and
-- bumped takes the new one, as bump's HINCRBY would reply it. A version
-- past 15 digits (a double would round it) goes through bump.
local function hset_bump(v, field, value)
  if v and #v > 15 then
    redis.call('HSET', KEYS[1], field, value)
    bump()
    return
  end
  bumped = (tonumber(v) or 0) + 1
  redis.call('HSET', KEYS[1], field, value, '_v', string.format('%d', bumped))
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
