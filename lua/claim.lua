-- claim.lua: claims of unique values for a model spread over several
-- shards of a cluster (claim.go). A claim lives in its own slot, apart
-- from the objects, so the write that sets the value is another script.
-- KEYS[1] the claim key <prefix>{<model>:u:<field>:<bucket>}, a HASH: the
--   value's sort key -> record "<state><ms>.<nonce>:<id>". state is p
--   (pending: claimed, the owner's write may not have landed yet) or c
--   (confirmed: the owner's write landed); ms is the claim node's TIME
--   when set; nonce is the claiming write's own (two writes of one object
--   never share a record).
-- ARGV[1] op; ARGV[2] the sort key; ARGV[3] the id; ARGV[4] a record ("": none)
--   claim   ARGV[5] the write's nonce. Free, the id's own record (another
--           write of the same object: refreshed), or a record equal to
--           ARGV[4] (a takeover the caller validated) -> "p<now>.<nonce>:<id>",
--           reply {1, record set, 1 when it was not the id's own};
--           else {0, record, its age in ms} and nothing is written
--   confirm the record equal to ARGV[4] (the write's own) ->
--           "c<now>.<nonce>:<id>", reply 1; else 0 (another write of the
--           object refreshed it and settles it)
--   drop    the record equal to ARGV[4] removed when it is confirmed or at
--           least ARGV[5] ms old (Sweep; a refused write releasing the
--           claim it made, with 0), reply 1; else 0
-- Errors: WRONGTYPE when KEYS[1] holds another type (nothing written).
local op, sk, id, expect = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local rec = redis.pcall('HGET', KEYS[1], sk)
if type(rec) == 'table' and rec.err then return want_type(KEYS[1], 'hash') or rec end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local owner, at, nonce
if rec then
  local ms, n, o = string.match(rec, '^[pc](%d+)%.(%w*):(.+)$')
  owner, at, nonce = o, tonumber(ms), n
end
if op == 'claim' then
  if not rec or owner == id or rec == expect then
    local set = 'p' .. now .. '.' .. ARGV[5] .. ':' .. id
    redis.call('HSET', KEYS[1], sk, set)
    local created = 1
    if rec and owner == id then created = 0 end
    return { 1, set, created }
  end
  return { 0, rec, math.max(0, now - (at or 0)) }
elseif op == 'confirm' then
  if rec and rec == expect and string.sub(rec, 1, 1) == 'p' then
    redis.call('HSET', KEYS[1], sk, 'c' .. now .. '.' .. nonce .. ':' .. id)
    return 1
  end
  return 0
elseif op == 'drop' then
  if rec and rec == expect and (string.sub(rec, 1, 1) == 'c' or now - (at or 0) >= tonumber(ARGV[5])) then
    redis.call('HDEL', KEYS[1], sk)
    return 1
  end
  return 0
end
return fail('INVALID', 'claim.lua: unknown op ' .. tostring(op))
