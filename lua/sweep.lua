-- sweep.lua: one bounded step of Schema.Sweep (mode "all") or of the
-- verification pass of Schema.Reindex (mode "idx") over one shard's index
-- keys (lua/index.lua). Not an object script: the prelude's KEYS/ARGV
-- conventions do not apply.
-- KEYS[1..nf] the shard's x:i key of every indexed field; KEYS[nf+1] x:rev;
--   KEYS[nf+2] x:all
-- ARGV[1] mode:
--   all  walk x:all: every id whose object is dead loses its entries
--        (idx_forget)
--   idx  walk the x:i key of field ARGV[6+nf]: a member whose object is
--        dead is reclaimed as above (and removed even when x:rev does not
--        list it); a member of a live object that x:rev does not list
--        with that sort key (an orphan) is removed
--   ids  the ids ARGV[6+nf..] (a Find's load found them gone): each one
--        still dead is reclaimed as in "all"
-- ARGV[2] cursor: "" to start, else the last member of the previous step
-- ARGV[3] count: how many members this step reads at most
-- ARGV[4] the shard's object hash key prefix (<prefix>{model:s}:o:)
-- ARGV[5] nf; ARGV[6..5+nf] the indexed field names, in the order of KEYS
-- ARGV[6+nf] (mode idx) the position (1..nf) of the field to walk
-- Reply: {done (1 when the walk reached the end), cursor for the next step,
--   dead objects reclaimed, orphan members removed, members read}
idx_load() -- index.lua's functions (lua/shake.go)
local mode, cursor, count, okey = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local nf = tonumber(ARGV[5])
local keys = {}
for i = 1, nf do keys[ARGV[5 + i]] = KEYS[i] end
local rev, all = KEYS[nf + 1], KEYS[nf + 2]
local walk, field = all, nil
if mode == 'idx' then
  local pos = tonumber(ARGV[6 + nf])
  walk, field = KEYS[pos], ARGV[5 + pos]
elseif mode == 'ids' then
  local dead = 0
  for i = 6 + nf, #ARGV do
    if not idx_alive(okey, ARGV[i]) then
      idx_forget(rev, all, keys, ARGV[i])
      dead = dead + 1
    end
  end
  return { 1, '', dead, 0, #ARGV - 5 - nf }
elseif mode ~= 'all' then
  return fail('INVALID', 'unknown sweep mode ' .. tostring(mode))
end
local from = '-'
if cursor ~= '' then from = '(' .. cursor end
local got = redis.call('ZRANGEBYLEX', walk, from, '+', 'LIMIT', 0, count)
local dead, orphans = 0, 0
local gone = {}
for _, m in ipairs(got) do
  local id, sk = m, nil
  if field then
    local z = string.find(m, '\0', 1, true)
    if z then sk, id = string.sub(m, 1, z - 1), string.sub(m, z + 1) end
  end
  if gone[id] then
    -- An earlier member of this step was the same dead id's.
    redis.call('ZREM', walk, m)
  elseif not idx_alive(okey, id) then
    idx_forget(rev, all, keys, id)
    if field then redis.call('ZREM', walk, m) end
    gone[id] = true
    dead = dead + 1
  elseif field and (not sk or idx_rev(rev, id)[field] ~= sk) then
    redis.call('ZREM', walk, m)
    orphans = orphans + 1
  end
end
local done, next = 0, ''
if #got < count then done = 1 else next = got[#got] end
return { done, next, dead, orphans, #got }
