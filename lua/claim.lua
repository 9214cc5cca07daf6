-- claim.lua: claims of unique values for a model spread over several
-- shards of a cluster (claim.go). A claim lives in its own slot, apart
-- from the objects, so the write that sets the value is another script.
-- KEYS[1] the claim key <prefix>{<model>:u:<field>:<bucket>}, a HASH: the
--   value's sort key -> record "<state><ms>:<id>". state is p (pending:
--   claimed, the owner's write may not have landed yet) or c (confirmed:
--   the owner's write landed); ms is the claim node's TIME when set.
-- ARGV[1] op; ARGV[2] the sort key; ARGV[3] the id; ARGV[4] a record ("": none)
--   claim   free, the id's own record, or a record equal to ARGV[4] (a
--           takeover the caller validated) -> "p<now>:<id>", reply {1};
--           else {0, record, its age in ms} and nothing is written
--   confirm the id's pending record -> "c<now>:<id>", reply 1; else 0
--   release the id's record removed, reply 1; else 0
--   drop    the record equal to ARGV[4] removed (Sweep) when it is
--           confirmed or at least ARGV[5] ms old, reply 1; else 0
-- Errors: WRONGTYPE when KEYS[1] holds another type (nothing written).
local op, sk, id, expect = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local rec = redis.pcall('HGET', KEYS[1], sk)
if type(rec) == 'table' and rec.err then return want_type(KEYS[1], 'hash') or rec end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local owner, at
if rec then
  local ms, o = string.match(rec, '^[pc](%d+):(.+)$')
  owner, at = o, tonumber(ms)
end
if op == 'claim' then
  if not rec or owner == id or rec == expect then
    redis.call('HSET', KEYS[1], sk, 'p' .. now .. ':' .. id)
    return { 1 }
  end
  return { 0, rec, math.max(0, now - (at or 0)) }
elseif op == 'confirm' then
  if rec and owner == id and string.sub(rec, 1, 1) == 'p' then
    redis.call('HSET', KEYS[1], sk, 'c' .. now .. ':' .. id)
    return 1
  end
  return 0
elseif op == 'release' then
  if rec and owner == id then
    redis.call('HDEL', KEYS[1], sk)
    return 1
  end
  return 0
elseif op == 'drop' then
  if rec and rec == expect and (string.sub(rec, 1, 1) == 'c' or now - at >= tonumber(ARGV[5])) then
    redis.call('HDEL', KEYS[1], sk)
    return 1
  end
  return 0
end
return fail('INVALID', 'claim.lua: unknown op ' .. tostring(op))
