-- savefast.lua: save_fast, Save of one object with native commands on
-- Redis (redis.REDIS_VERSION is set), for an object that needs nothing
-- else: no version check, no index, no container (the caller knows). It
-- writes what save.lua writes and replies the same new version (an integer
-- reply; past 2^53 the stored text), with no number parsed or formatted in
-- Lua and no library closure made: HINCRBY of the version refuses, writing
-- nothing, a hash of another type and a version that is not an integer,
-- and replies the next version itself. save.lua's head runs it
-- (save.head.lua), and savemany.lua for each object sent in its compact
-- form.
--
-- key is the object's hash; A[from..] its n field/value pairs, then the x
-- fields to remove; mode the TTL mode (prelude.lua's ARGV[1]) and
-- model_ttl save.lua's ARGV[3]. It returns nil, having written nothing,
-- for what it does not do: the embedded server (no redis.REDIS_VERSION),
-- an ACL that refuses one of its writes, and every error (save.lua's body
-- then runs and says why, as it always did).
local save_fast_on = redis.REDIS_VERSION ~= nil
local function save_fast(key, A, from, n, x, mode, model_ttl)
  if not save_fast_on or 2 * n + x > 4000 then return nil end
  local acl = redis.acl_check_cmd
  if acl and not (acl('HSET', key, 'f', 'v') and (x == 0 or acl('HDEL', key, 'f'))) then return nil end
  local v = redis.pcall('HINCRBY', key, '_v', '1')
  if type(v) ~= 'number' then return nil end
  if v < 1 then -- the version was negative: not one save.lua takes
    redis.call('HINCRBY', key, '_v', -1)
    return nil
  end
  local pairs_to = from + 2 * n - 1
  if n > 0 then redis.call('HSET', key, unpack(A, from, pairs_to)) end
  if x > 0 then redis.call('HDEL', key, unpack(A, pairs_to + 1, pairs_to + x)) end
  if model_ttl ~= '0' and redis.call('PTTL', key) == -1 then redis.call('PEXPIRE', key, model_ttl) end
  -- touch's modes on the one key; "keep" leaves it alone
  if mode ~= '0' and mode ~= 'keep' then redis.call('PEXPIRE', key, mode) end
  if v >= 9007199254740992 then return redis.call('HGET', key, '_v') end
  return v
end
