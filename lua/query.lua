-- query.lua: one shard's part of a query (Schema.Find, FindOne, FindIDs,
-- Count, Iter, DeleteWhere). The Go side sends one call per shard, all in
-- one pipeline, and merges the replies.
--
-- KEYS: the shard's x:i key of every indexed field of the model (schema
--   order), then x:rev, then x:all (lua/index.lua).
-- ARGV (not the prelude's convention: a query has no object keys):
--   1  the shard's object hash key prefix (<prefix>{model:s}:o:); objects
--      of the shard share the index keys' hash tag, so their keys are built
--      here
--   2  mode: "find" (matches as sort key, id pairs) or "count"
--   3  nidx, the number of indexed fields, then their nidx names
--   then: sort position (1-based among the indexed fields; 0: by id), the
--   sort field's kind, desc ("1"/"0"), want (0: every match), cursor ("1":
--   only matches after the next two), cursor sort key, cursor id, scan
--   ("1": drive from x:all when no index can), then the predicate in
--   prefix form:
--     "T"                          every object
--     "A" n <n nodes>, "O" n <n nodes>
--     "L" field pos kind n <n pairs lo hi>
--   A leaf accepts an object whose field's sort key sk makes the member
--   sk.."\0"..id fall in one of its intervals [lo, hi) (byte order; lo "":
--   from the start; hi "": to the end); pos is the field's position among
--   the indexed fields, 0 when it has no index.
-- Reply: find: a flat array sk1, id1, sk2, id2, ... (sk "" when sorting by
--   id and for objects without the sort field, else "\1" then the sort key
--   of its value, so that an absent value sorts before any present one,
--   "" included), at most want pairs when
--   want > 0, in no particular order unless the Go side's merge says so;
--   or, when the driving leaf's members are the whole answer (see
--   "members" below), "\0" (sk "") or "\0s" (sk "\1" and the member's
--   part before its first "\0"), then the members (sort key "\0" id);
--   count: the number of matches.
--
-- Plan: the driver produces candidate ids: a leaf on an indexed field
-- walks its intervals with ZRANGEBYLEX, "T" walks x:all, an And drives
-- from its child with the smallest estimate (ZLEXCOUNT / ZCARD), an Or
-- walks the union of its children (each must be drivable; ids deduplicated).
-- With a want, a driver that yields the output order is preferred when it
-- is not much costlier (it stops early): the sort field's leaf, or, by id,
-- an equality leaf or x:all.
-- Every live candidate is checked against the whole predicate but the
-- driving leaf's own condition, which its index entries of live objects
-- guarantee (one HGET or HMGET of the fields the rest names, EXISTS when
-- none is there, or EXISTS alone: one EXISTS of a whole batch of
-- candidates first, then one each only when the batch has dead ones); a
-- candidate whose hash is gone is dead:
-- its entries are reclaimed (idx_forget) and it is skipped. When the driver
-- yields candidates in output order (the sort field's leaf; x:all or an
-- equality leaf when sorting by id), the walk starts after the cursor and
-- stops at want matches; otherwise the best want matches are kept in a
-- heap. Sort keys and ids are compared byte by byte (bcmp): Lua's `<`
-- follows the server's locale.

-- index.lua's functions (lua/shake.go) are made only when a candidate
-- needs them (idx_load: a sort key to compute, a dead object to reclaim).
local okey, mode = ARGV[1], ARGV[2]
-- "load" is "find" for a Find that loads every match: the load drops dead
-- objects, so a candidate checked by nothing but the trusted driver needs no
-- EXISTS here (their entries are reclaimed by the other queries and Sweep).
local trust = mode == 'load'
if trust then mode = 'find' end
local nidx = tonumber(ARGV[3])
local names, keymap = {}, {}
for i = 1, nidx do
  names[i] = ARGV[3 + i]
  keymap[names[i]] = KEYS[i]
end
local rev, all = KEYS[nidx + 1], KEYS[nidx + 2]
local a = 4 + nidx
local sortpos, sortkind = tonumber(ARGV[a]), ARGV[a + 1]
local desc, want = ARGV[a + 2] == '1', tonumber(ARGV[a + 3])
local hascur, csk, cid = ARGV[a + 4] == '1', ARGV[a + 5], ARGV[a + 6]
local scan = ARGV[a + 7] == '1'
local p = a + 8

-- bcmp compares two strings byte by byte: -1, 0 or 1.
local function bcmp(x, y)
  if x == y then return 0 end
  local n = math.min(#x, #y)
  for i = 1, n do
    local cx, cy = string.byte(x, i), string.byte(y, i)
    if cx ~= cy then
      if cx < cy then return -1 end
      return 1
    end
  end
  if #x < #y then return -1 end
  return 1
end

-- The predicate, and the fields a candidate's check reads (slot i:
-- fields[i]).
local fields, slot = {}, {}
local function ref(name)
  if not slot[name] then
    fields[#fields + 1] = name
    slot[name] = #fields
  end
  return slot[name]
end

local function parse()
  local t = ARGV[p]
  if t == 'T' then
    p = p + 1
    return { op = 'T' }
  end
  if t == 'A' or t == 'O' then
    local n = tonumber(ARGV[p + 1])
    p = p + 2
    local node = { op = t, kids = {} }
    for i = 1, n do node.kids[i] = parse() end
    return node
  end
  local node = { op = 'L', name = ARGV[p + 1], pos = tonumber(ARGV[p + 2]), kind = ARGV[p + 3], iv = {} }
  local n = tonumber(ARGV[p + 4])
  p = p + 5
  -- A leaf whose intervals each hold one value (Eq, In) is checked by a
  -- table lookup of the sort key instead of byte comparisons.
  local set = {}
  for i = 1, n do
    local lo, hi = ARGV[p], ARGV[p + 1]
    node.iv[i] = { lo, hi }
    if set and #lo > 0 and #lo == #hi and string.byte(lo, #lo) == 0 and string.byte(hi, #hi) == 1
      and string.sub(lo, 1, -2) == string.sub(hi, 1, -2) then
      set[string.sub(lo, 1, -2)] = true
    else
      set = nil
    end
    p = p + 2
  end
  node.set = set
  return node
end

local root = parse()
local sortslot, nf = nil, 0 -- set once the driver is known

-- read fetches candidate id's fields (HGET for one, HMGET for more) and
-- reports whether its hash exists: EXISTS only when no field came back
-- (or, without fields, when walkrange's EXISTS of the batch found some
-- hash gone).
local one = {}
local batchalive = false -- walkrange found every hash of its batch
local function read(id)
  if nf == 0 then
    if trust or batchalive then return one, true end
    return one, redis.call('EXISTS', okey .. id) == 1
  end
  local key = okey .. id
  local vals
  if nf == 1 then
    one[1] = redis.call('HGET', key, fields[1])
    vals = one
  else
    vals = redis.call('HMGET', key, unpack(fields))
  end
  for i = 1, nf do
    if vals[i] then return vals, true end
  end
  return vals, redis.call('EXISTS', key) == 1
end

-- inset: is member m in one of the sorted, disjoint intervals iv?
local function inset(iv, m)
  local lo, hi, found = 1, #iv, 0
  while lo <= hi do
    local mid = math.floor((lo + hi) / 2)
    if bcmp(iv[mid][1], m) <= 0 then
      found, lo = mid, mid + 1
    else
      hi = mid - 1
    end
  end
  if found == 0 then return false end
  local h = iv[found][2]
  return h == '' or bcmp(m, h) < 0
end

-- skey: the sort key of a slot's value for the current candidate (false:
-- absent or not indexable), computed once per candidate (gen).
local sks, skgen, gen = {}, {}, 0
local function skey(s, kind, vals)
  if skgen[s] == gen then return sks[s] end
  local t, k = vals[s], false
  if t then
    if kind == 's' and not string.find(t, '[%z\1]') then
      k = t -- idx_escape changes nothing
    else
      idx_load()
      k = idx_key(kind, t) or false
    end
  end
  sks[s], skgen[s] = k, gen
  return k
end

local function eval(node, vals, id)
  local op = node.op
  if op == 'T' then return true end
  if op == 'A' then
    for _, k in ipairs(node.kids) do
      if not eval(k, vals, id) then return false end
    end
    return true
  end
  if op == 'O' then
    for _, k in ipairs(node.kids) do
      if eval(k, vals, id) then return true end
    end
    return false
  end
  if node.trusted then return true end
  local s = skey(node.slot, node.kind, vals)
  if not s then return false end
  if node.set then return node.set[s] == true end
  return inset(node.iv, s .. '\0' .. id)
end

local function lexlo(v)
  if v == '' then return '-' end
  return '[' .. v
end
local function lexhi(v)
  if v == '' then return '+' end
  return '(' .. v
end

-- estimate: how many candidates the node's driver would produce (false:
-- no index can drive it); an And notes its cheapest child in drv.
local function estimate(node)
  if node.est ~= nil then return node.est end
  local e = false
  if node.op == 'T' then
    e = redis.call('ZCARD', all)
  elseif node.op == 'L' then
    if node.pos > 0 then
      e = 0
      for _, v in ipairs(node.iv) do
        v.n = redis.call('ZLEXCOUNT', KEYS[node.pos], lexlo(v[1]), lexhi(v[2]))
        e = e + v.n
      end
    end
  elseif node.op == 'O' then
    e = 0
    for _, k in ipairs(node.kids) do
      local x = estimate(k)
      if not x then e = false end
      if e then e = e + x end
    end
  else
    for _, k in ipairs(node.kids) do
      local x = estimate(k)
      if x and (not e or x < e) then
        e, node.drv = x, k
      end
    end
  end
  node.est = e
  return e
end

-- walkrange calls visit(id, key, member) for the members of key between
-- the lex bounds lo and hi (reversed: from hi down), in growing batches,
-- until visit returns true (then it returns true). ids: members are ids.
-- count, when known, is how many members the bounds held when estimated
-- (at most: a cursor narrows them, reclaiming shrinks them): when every
-- match is wanted, or fewer than want are there, the first batch takes
-- them all.
local MAXBATCH = 5000
local members = false -- the walk's members are the reply (set below)
local function walkrange(key, lo, hi, reversed, ids, visit, count)
  local n = math.max(want, 32)
  if count and (want == 0 or count < want) then n = count + 1 end
  n = math.min(n, MAXBATCH)
  while true do
    local ms
    if reversed then
      ms = redis.call('ZREVRANGEBYLEX', key, hi, lo, 'LIMIT', 0, n)
    else
      ms = redis.call('ZRANGEBYLEX', key, lo, hi, 'LIMIT', 0, n)
    end
    local batch = ms
    if not ids and not members then
      batch = {}
      for i, m in ipairs(ms) do batch[i] = string.sub(m, string.find(m, '\0', 1, true) + 1) end
    end
    -- A candidate checked by nothing but its hash's existence: one EXISTS
    -- of the whole batch, and one per candidate only when some are gone.
    if nf == 0 and not trust and #batch > 1 then
      local hkeys = {}
      for i, id in ipairs(batch) do hkeys[i] = okey .. id end
      batchalive = redis.call('EXISTS', unpack(hkeys)) == #hkeys
    end
    for i, m in ipairs(ms) do
      if visit(batch[i], key, m) then
        batchalive = false
        return true
      end
    end
    batchalive = false
    if #ms < n then return false end
    if reversed then hi = '(' .. ms[#ms] else lo = '(' .. ms[#ms] end
    n = math.min(n * 2, MAXBATCH)
  end
end

-- walkleaf walks a leaf's intervals (reversed: last first, downwards),
-- only members after cm (before it, reversed) when cm is given.
local function walkleaf(node, visit, cm, reversed)
  local n = #node.iv
  for i = 1, n do
    local v = node.iv[i]
    if reversed then v = node.iv[n + 1 - i] end
    local lo, hi, skip = lexlo(v[1]), lexhi(v[2]), false
    if cm and not reversed then
      if v[2] ~= '' and bcmp(cm, v[2]) >= 0 then
        skip = true
      elseif bcmp(cm, v[1]) >= 0 then
        lo = '(' .. cm
      end
    elseif cm then
      if v[1] ~= '' and bcmp(cm, v[1]) <= 0 then
        skip = true
      elseif v[2] == '' or bcmp(cm, v[2]) < 0 then
        hi = '(' .. cm
      end
    end
    if not skip and walkrange(KEYS[node.pos], lo, hi, reversed, false, visit, v.n) then return true end
  end
  return false
end

-- walk produces a drivable node's candidates (unordered).
local function walk(node, visit)
  if node.op == 'T' then return walkrange(all, '-', '+', false, true, visit, node.est) end
  if node.op == 'L' then return walkleaf(node, visit, nil, false) end
  if node.op == 'A' then return walk(node.drv, visit) end
  local seen = {}
  for _, k in ipairs(node.kids) do
    local stop = walk(k, function(id, key, m)
      if seen[id] then return false end
      seen[id] = true
      return visit(id, key, m)
    end)
    if stop then return true end
  end
  return false
end

-- The driver, and whether it yields candidates in output order.
local function eqleaf(node)
  if node.op ~= 'L' or node.pos == 0 or #node.iv ~= 1 then return false end
  local lo, hi = node.iv[1][1], node.iv[1][2]
  return #lo > 0 and #lo == #hi and string.byte(lo, #lo) == 0 and string.byte(hi, #hi) == 1
    and string.sub(lo, 1, -2) == string.sub(hi, 1, -2)
end
local function orderedleaf(node)
  if sortpos > 0 then return node.op == 'L' and node.pos == sortpos end
  return eqleaf(node)
end

local est = estimate(root)
local drv, ordered = root, false
if not est then
  if not scan then return redis.error_reply('INVALID no indexed predicate can drive this query') end
  drv = { op = 'T' }
  ordered = sortpos == 0
elseif root.op == 'T' then
  ordered = sortpos == 0
elseif orderedleaf(root) then
  ordered = true
elseif root.op == 'A' then
  drv = root.drv
  local best
  for _, k in ipairs(root.kids) do
    if orderedleaf(k) and (not best or k.est < best.est) then best = k end
  end
  -- The ordered driver may read more candidates than the cheapest, but it
  -- can stop at want matches.
  if best and (best.est <= est or (want > 0 and best.est <= 4 * est + want)) then
    drv, ordered = best, true
  end
end
if est == 0 then
  if mode == 'count' then return 0 end
  return {}
end
-- By id with a want and an unordered driver: the driver's every candidate
-- would be read (again for each of Iter's pages), while x:all, in id
-- order, stops at want matches: about want * n / est candidates if the
-- driver's selectivity holds. Take the cheaper.
if not ordered and sortpos == 0 and want > 0 and mode == 'find' then
  local n = redis.call('ZCARD', all)
  if want * n < est * est then
    drv, ordered = { op = 'T' }, true
  end
end

-- The driving leaf is trusted: index entries of live objects are exact
-- (every write moves them in the same script), so its condition holds for
-- every live candidate it yields. Each candidate reads the fields of the
-- other leaves, and the sort field unless the walk's members give it.
if drv.op == 'L' and (drv == root or root.op == 'A') then drv.trusted = true end
local function assign(node)
  if node.op == 'L' then
    if not node.trusted then node.slot = ref(node.name) end
  elseif node.kids then
    for _, k in ipairs(node.kids) do assign(k) end
  end
end
assign(root)
local skmember = ordered and sortpos > 0
if sortpos > 0 and not skmember then sortslot = ref(names[sortpos]) end
nf = #fields

-- after: does (sk, id) come after the cursor in output order?
local function after(sk, id)
  local c = bcmp(sk, csk)
  if c == 0 then c = bcmp(id, cid) end
  if desc then return c < 0 end
  return c > 0
end

-- worse: does x come after y in output order?
local function worse(x, y)
  local c = bcmp(x[1], y[1])
  if c == 0 then c = bcmp(x[2], y[2]) end
  if desc then return c < 0 end
  return c > 0
end

-- Matches: a list (ordered driver, or every match wanted), or a heap of
-- the best want, the worst kept at the root.
local out, nout, count = {}, 0, 0
local useheap = not ordered and want > 0
local function keep(sk, id)
  if not useheap then
    out[2 * nout + 1], out[2 * nout + 2] = sk, id
    nout = nout + 1
    return ordered and want > 0 and nout >= want
  end
  local e = { sk, id }
  if nout < want then
    nout = nout + 1
    out[nout] = e
    local i = nout
    while i > 1 do
      local pi = math.floor(i / 2)
      if not worse(out[i], out[pi]) then break end
      out[i], out[pi] = out[pi], out[i]
      i = pi
    end
  elseif worse(out[1], e) then
    out[1] = e
    local i = 1
    while true do
      local l, r, m = 2 * i, 2 * i + 1, i
      if l <= nout and worse(out[l], out[m]) then m = l end
      if r <= nout and worse(out[r], out[m]) then m = r end
      if m == i then break end
      out[i], out[m] = out[m], out[i]
      i = m
    end
  end
  return false
end

local function visit(id, key, m)
  local vals, alive = read(id)
  if not alive then
    -- Dead (expired or deleted without its entries): reclaim.
    idx_load()
    idx_forget(rev, all, keymap, id)
    if key ~= all then redis.call('ZREM', key, m) end
    return false
  end
  gen = gen + 1
  if not eval(root, vals, id) then return false end
  if mode == 'count' then
    count = count + 1
    return false
  end
  local sk = ''
  if sortslot then
    local k = skey(sortslot, sortkind, vals)
    if k then sk = '\1' .. k end
  elseif skmember then
    sk = '\1' .. string.sub(m, 1, #m - #id - 1)
  end
  if hascur and not ordered and not after(sk, id) then return false end
  return keep(sk, id)
end

-- A Find that loads its matches (trust), driven by a leaf whose condition
-- is the whole check (no field read: nf == 0), in output order or wanting
-- every match: each member is a match. They are the reply, and the Go side
-- cuts them into sort key and id: per candidate no string is made here
-- (0.5 us each, most of such a query's server time).
members = drv.op == 'L' and trust and mode == 'find' and nf == 0 and not useheap and (ordered or not hascur)
if members then
  out[1] = (sortpos > 0) and '\0s' or '\0'
  local n = 1
  visit = function(_, _, m)
    n = n + 1
    out[n] = m
    return ordered and want > 0 and n > want
  end
end

local cm = nil
if hascur and ordered then
  if drv.op == 'T' then
    cm = cid
  elseif sortpos > 0 then
    cm = string.sub(csk, 2) .. '\0' .. cid -- csk is "\1" .. the member's sort key
  else
    cm = drv.iv[1][1] .. cid
  end
end
if drv.op == 'T' then
  local lo = '-'
  if cm then lo = '(' .. cm end
  walkrange(all, lo, '+', false, true, visit, drv.est)
elseif drv.op == 'L' then
  walkleaf(drv, visit, cm, ordered and desc)
else
  walk(drv, visit)
end

if mode == 'count' then return count end
if not useheap then return out end
local reply = {}
for i = 1, nout do
  reply[2 * i - 1] = out[i][1]
  reply[2 * i] = out[i][2]
end
return reply
