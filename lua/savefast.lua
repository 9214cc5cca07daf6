-- savefast.lua: save_fast, Save of one object with native commands on
-- Redis (redis.REDIS_VERSION is set) when it needs nothing else: no version
-- check, no index, no container. save.lua's head runs it (save.head.lua),
-- and savemany.lua before each object's save.lua body. It writes what
-- save.lua writes and replies the same new version (an integer reply, but
-- past 2^53: the stored text), with no number parsed or formatted in Lua
-- and no library closure made: HINCRBY of the version refuses, writing
-- nothing, a hash of another type and a version that is not an integer, and
-- replies the next version itself.
--
-- K[k+1] is the object's hash, K[k+2..] its other keys; A[a+1..last] its
-- save.lua ARGV. It returns nil, having written nothing, for what it does
-- not do: the embedded server (no redis.REDIS_VERSION), a version check, an
-- index section, containers (keys besides the hash), an ACL that refuses one of its writes,
-- and every error (save.lua then runs and says why, as it always did).
local save_fast_on = redis.REDIS_VERSION ~= nil
local function save_fast(K, A, k, a, last)
  if not save_fast_on or A[a + 4] ~= '' or A[last] ~= '0' or A[a + 2] ~= '1' then return nil end
  local n, x = tonumber(A[a + 5]), tonumber(A[a + 6])
  local pairs_to = a + 6 + 2 * n
  if pairs_to + x + 1 ~= last or 2 * n + x > 4000 then return nil end
  local key = K[k + 1]
  local acl = redis.acl_check_cmd
  if acl and not (acl('HSET', key, 'f', 'v') and (x == 0 or acl('HDEL', key, 'f'))) then return nil end
  local v = redis.pcall('HINCRBY', key, '_v', 1)
  if type(v) ~= 'number' then return nil end
  if v < 1 then -- the version was negative: not one save.lua takes
    redis.call('HINCRBY', key, '_v', -1)
    return nil
  end
  if n > 0 then redis.call('HSET', key, unpack(A, a + 7, pairs_to)) end
  if x > 0 then redis.call('HDEL', key, unpack(A, pairs_to + 1, pairs_to + x)) end
  local model_ttl = A[a + 3]
  if model_ttl ~= '0' and redis.call('PTTL', key) == -1 then redis.call('PEXPIRE', key, model_ttl) end
  local ttl = A[a + 1] -- touch's modes; "keep" leaves the one key alone
  if ttl ~= '0' and ttl ~= 'keep' then redis.call('PEXPIRE', key, ttl) end
  if v >= 9007199254740992 then return redis.call('HGET', key, '_v') end
  return v
end
