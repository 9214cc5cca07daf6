-- index.lua: secondary indexes, maintained inside the write scripts that
-- include this file, and read by the query script.
--
-- Storage, per shard s of a model (every key under the tag {model:s}):
--   x:i:<field>  ZSET, all scores 0, one member per indexed object:
--                sortkey(value) .. "\0" .. id. ZRANGEBYLEX serves equality,
--                ranges, prefixes and sorting; ZLEXCOUNT counts.
--   x:all        ZSET, scores 0: the ids of the shard's indexed objects.
--   x:rev        HASH id -> the object's index entries, "field\0sortkey\0"...
--                It does not expire with the object, so a write or a query
--                can always remove what an expired object left behind.
-- An object is alive when its hash exists; entries of a dead object (its TTL
-- ran out) are stale: queries skip them and reclaim them (idx_reclaim), and
-- so does Sweep.
--
-- Sort keys (no "\0" inside, so the first "\0" of a member ends it; byte
-- order of sort keys is value order):
--   s  string: the bytes, with \0 -> \1\1 and \1 -> \1\2 (order kept)
--   b  bool: "0" or "1"
--   i  int64 (and times, as Unix nanoseconds), canonical decimal text:
--        zero "\3"; n > 0 with d digits: "\4" .. char(d) .. digits;
--        n < 0: "\2" .. char(255 - d) .. digits with each c -> '9' - c + '0'
--   f  float64, decimal text normalised to 0.m * 10^e (m without leading or
--        trailing zeros): zero "\3"; x > 0: "\4" .. 3 digits of e + 500 ..
--        m; x < 0: "\2" .. 3 digits of 499 - e .. m complemented .. "~"
--
-- The index section of a write script's ARGV (its last items; ARGV[#ARGV]
-- is how many items the section has, 0 for none):
--   id, nf, then per indexed field: name, kind, unique ("1"/"0"), the KEYS
--   index of this shard's x:i key, u (for unique fields: how many other
--   shards' x:i keys follow), u KEYS indexes; then the KEYS indexes of x:rev
--   and x:all, and the object hash key prefix of the shard (for liveness of
--   other ids: <prefix>{model:s}:o:); then, for a field script only, an
--   optional claim guard (idx_field_check): "?" (no value claimed yet) or
--   "=" .. the text the caller claimed. On a cluster a unique value is
--   claimed before it is written (claim.go); a field operation whose value
--   the script computes (append, add, toggle, ...) first runs with "?" to
--   learn it, then with the value claimed: the write happens only when the
--   script computes exactly that value, else the reply is the error
--   "CLAIM <hex of the text computed>" and nothing is written.

-- idx_escape makes a string a sort key.
local function idx_escape(s)
  if not string.find(s, '[%z\1]') then return s end
  return (string.gsub(s, '[%z\1]', function(c)
    if c == '\0' then return '\1\1' end
    return '\1\2'
  end))
end

-- idx_int is the sort key of canonical int64 decimal text (nil if not one).
local function idx_int(t)
  if t == '0' then return '\3' end
  local neg, d = string.match(t, '^(%-?)([1-9]%d*)$')
  if not d or #d > 19 then return nil end
  if neg == '' then return '\4' .. string.char(#d) .. d end
  return '\2' .. string.char(255 - #d) .. (string.gsub(d, '%d', function(c)
    return string.char(105 - string.byte(c))
  end))
end

-- idx_float is the sort key of decimal float text (nil if not one).
local function idx_float(t)
  local es, ex
  local sign, ip, fp = string.match(t, '^([+-]?)(%d*)%.?(%d*)$')
  if not sign then
    sign, ip, fp, es, ex = string.match(t, '^([+-]?)(%d*)%.?(%d*)[eE]([+-]?)(%d+)$')
  end
  if not sign or (ip == '' and fp == '') then return nil end
  local digits = ip .. fp
  local e = tonumber(ex or '0')
  if es == '-' then e = -e end
  e = e + #ip
  local lead = string.find(digits, '[1-9]')
  if not lead then return '\3' end
  e = e - (lead - 1)
  digits = string.gsub(string.sub(digits, lead), '0+$', '')
  if e + 500 < 0 or e + 500 > 999 then return nil end
  if sign ~= '-' then return '\4' .. string.format('%03d', e + 500) .. digits end
  return '\2' .. string.format('%03d', 499 - e) .. (string.gsub(digits, '%d', function(c)
    return string.char(105 - string.byte(c))
  end)) .. '~'
end

-- idx_key is the sort key of stored text t for kind k (nil: not indexable).
local function idx_key(k, t)
  if k == 's' then return idx_escape(t) end
  if k == 'i' then return idx_int(t) end
  if k == 'f' then return idx_float(t) end
  if k == 'b' then
    if t == '1' or t == 'true' then return '1' end
    if t == '0' or t == 'false' then return '0' end
    return nil
  end
  return nil
end

-- idx_parse reads an index section ending at ARGV[last] (default #ARGV);
-- nil when empty. It returns the section and the position of its first
-- item (of its count when empty). A section found defines the library
-- (idx_load, see lua/shake.go: the functions that call idx_parse or
-- idx_load are defined at once, the others on that first use).
local function idx_parse(last)
  last = last or #ARGV
  local n = tonumber(ARGV[last])
  if not n or n == 0 then return nil, last end
  idx_load()
  local i = last - n
  local sec = { id = ARGV[i], fields = {} }
  local nf = tonumber(ARGV[i + 1])
  local j = i + 2
  for _ = 1, nf do
    local f = { name = ARGV[j], kind = ARGV[j + 1], unique = ARGV[j + 2] == '1', key = KEYS[tonumber(ARGV[j + 3])], others = {} }
    local u = tonumber(ARGV[j + 4])
    for k = 1, u do f.others[k] = KEYS[tonumber(ARGV[j + 4 + k])] end
    sec.fields[#sec.fields + 1] = f
    j = j + 5 + u
  end
  sec.rev, sec.all, sec.okey = KEYS[tonumber(ARGV[j])], KEYS[tonumber(ARGV[j + 1])], ARGV[j + 2]
  if j + 3 < last then sec.guard = ARGV[j + 3] end
  return sec, i
end

-- idx_rev reads an id's entries from x:rev: field -> sort key. s, when
-- given, is what HGET rev id replied (idx_guard read it already).
local function idx_rev(rev, id, s)
  local out = {}
  if s == nil then s = redis.call('HGET', rev, id) end
  if s then
    for f, k in string.gmatch(s, '([^%z]*)%z([^%z]*)%z') do out[f] = k end
  end
  return out, s ~= false and s ~= nil
end

-- idx_alive reports whether object id (of this shard) exists.
local function idx_alive(okey, id)
  return redis.call('EXISTS', okey .. id) == 1
end

-- idx_check_unique fails with EXISTS when another live object of any shard
-- has sort key sk in the unique field f. Entries of dead objects are not
-- conflicts (queries and Sweep reclaim them). An x:i key of another type is
-- a WRONGTYPE message.
local function idx_check_unique(sec, f, sk, text)
  local keys = { f.key }
  for _, k in ipairs(f.others) do keys[#keys + 1] = k end
  for _, key in ipairs(keys) do
    local hits = redis.pcall('ZRANGEBYLEX', key, '[' .. sk .. '\0', '(' .. sk .. '\1')
    if hits.err then return (want_type(key, 'zset') or hits).err end
    for _, m in ipairs(hits) do
      local id = string.sub(m, #sk + 2)
      if id ~= sec.id then
        -- The hit's shard: its hash key prefix is okey with the tag of key.
        local okey = string.match(key, '^(.*{[^}]*}:)x:i:') .. 'o:'
        if redis.call('EXISTS', okey .. id) == 1 then
          return 'EXISTS unique field ' .. f.name .. ': value ' .. string.sub(text, 1, 60) .. ' is taken'
        end
      end
    end
  end
  return nil
end

-- idx_guard runs before a write's first write: it checks that the keys
-- the section's entries may move are of their types or missing (every x:i
-- key of its fields a ZSET; x:rev a HASH, read here once for idx_apply and
-- idx_forget; x:all a ZSET, checked only when the write may add to it or
-- remove from it: the id is not in x:rev yet, or forget). It returns nil or
-- the error reply.
local function idx_guard(sec, forget)
  local r = redis.pcall('HGET', sec.rev, sec.id)
  if type(r) == 'table' then return want_type(sec.rev, 'hash') or r end
  sec.revtext = r
  for _, f in ipairs(sec.fields) do
    local e = want_type(f.key, 'zset')
    if e then return e end
  end
  if forget or not r then return want_type(sec.all, 'zset') end
  return nil
end

-- idx_vals is what a write leaves in the section's fields: given maps
-- field names to the text written, or false for a field removed; the
-- other fields are read from the hash hkey (default KEYS[1]) with one
-- HMGET. It returns field name -> text (absent: nil).
local function idx_vals(sec, hkey, given)
  local vals, names = {}, {}
  for _, f in ipairs(sec.fields) do
    local g = given and given[f.name]
    if g == nil then
      names[#names + 1] = f.name
    elseif g then
      vals[f.name] = g
    end
  end
  if #names > 0 then
    local got = redis.call('HMGET', hkey or KEYS[1], unpack(names))
    for j, name in ipairs(names) do
      if got[j] then vals[name] = got[j] end
    end
  end
  return vals
end

-- idx_plan works out the entry moves that bring the section's fields in
-- line with vals (idx_vals), from what x:rev lists for the id
-- (sec.revtext when idx_guard or idx_prepare read it): sec.moves, a list
-- of {x:i key, old sort key or nil, new sort key or nil}; sec.known, x:rev
-- lists the id; sec.after, field -> sort key once the moves are made.
local function idx_plan(sec, vals)
  local old, known = idx_rev(sec.rev, sec.id, sec.revtext)
  local moves = {}
  for _, f in ipairs(sec.fields) do
    local v = vals[f.name]
    local sk = v and idx_key(f.kind, v) or nil
    local was = old[f.name]
    if sk ~= was then
      moves[#moves + 1] = { f.key, was, sk }
      old[f.name] = sk
    end
  end
  sec.moves, sec.known, sec.after = moves, known, old
end

-- idx_write makes the planned moves (idx_plan): ZREM and ZADD of each
-- moved entry, x:rev rewritten (HSET, or HDEL when no entry is left) when
-- an entry moved or x:rev did not list the id, the id added to x:all when
-- x:rev did not list it.
local function idx_write(sec)
  local id = sec.id
  for _, m in ipairs(sec.moves) do
    if m[2] then redis.call('ZREM', m[1], m[2] .. '\0' .. id) end
    if m[3] then redis.call('ZADD', m[1], 0, m[3] .. '\0' .. id) end
  end
  if #sec.moves > 0 or not sec.known then
    local parts = {}
    for f, k in pairs(sec.after) do parts[#parts + 1] = f .. '\0' .. k .. '\0' end
    if #parts > 0 then
      redis.call('HSET', sec.rev, id, table.concat(parts))
    else
      redis.call('HDEL', sec.rev, id)
    end
  end
  if not sec.known then redis.call('ZADD', sec.all, 0, id) end
end

-- idx_apply brings the entries of the section's fields in line with the
-- hash's stored values, updating x:i, x:rev and x:all: the moves planned
-- before the write (idx_prepare), else those for given (see idx_vals; the
-- fields not given are read from the hash hkey, after the write).
local function idx_apply(sec, hkey, given)
  if not sec.moves then idx_plan(sec, idx_vals(sec, hkey, given)) end
  idx_write(sec)
end

-- idx_prepare runs before a write's first write, once the values the
-- write leaves are known (vals, see idx_vals): it reads x:rev (a HASH or
-- nothing), plans the moves (idx_plan), asks the ACL about checks (a list
-- of {command, key, args...}; nil: no ACL on this server) and the writes
-- the moves will send, and checks that the keys those writes touch are
-- ZSETs or missing: the x:i key of each moved entry, x:all when the id
-- joins it. Keys no write touches are not asked about. It returns nil or
-- the error reply.
local function idx_prepare(sec, vals, checks)
  local r = redis.pcall('HGET', sec.rev, sec.id)
  if type(r) == 'table' then return want_type(sec.rev, 'hash') or r end
  sec.revtext = r
  idx_plan(sec, vals)
  local moves = sec.moves
  if checks then
    for _, m in ipairs(moves) do
      if m[2] then checks[#checks + 1] = { 'ZREM', m[1], 'm' } end
      if m[3] then checks[#checks + 1] = { 'ZADD', m[1], '0', 'm' } end
    end
    if #moves > 0 or not sec.known then
      if next(sec.after) then
        checks[#checks + 1] = { 'HSET', sec.rev, 'f', 'v' }
      else
        checks[#checks + 1] = { 'HDEL', sec.rev, 'f' }
      end
    end
    if not sec.known then checks[#checks + 1] = { 'ZADD', sec.all, '0', 'm' } end
    local e = acl_refusal(checks)
    if e then return e end
  end
  for _, m in ipairs(moves) do
    local e = want_type(m[1], 'zset')
    if e then return e end
  end
  if not sec.known then return want_type(sec.all, 'zset') end
  return nil
end

-- idx_unique_new checks the unique fields among the section's for the new
-- texts given as a table field -> text (nil: absent, no check); the message
-- of the first conflict, or nil.
local function idx_unique_new(sec, texts)
  for _, f in ipairs(sec.fields) do
    local t = texts[f.name]
    if f.unique and t then
      local sk = idx_key(f.kind, t)
      if sk then
        local msg = idx_check_unique(sec, f, sk, t)
        if msg then return msg end
      end
    end
  end
  return nil
end

-- idx_field_check is for the field scripts: before writing text to field,
-- it parses the index section, prepares the entry moves (idx_prepare: the
-- section lists that one field, so nothing is read from the hash), checks
-- uniqueness and the claim guard (see the section's format above). It
-- returns an error reply (or nil) and the section (nil when the field is
-- not indexed), for idx_apply after the write.
local function idx_field_check(field, text)
  local sec = idx_parse()
  if not sec then return nil, nil end
  local given = { [field] = text }
  local checks = redis.acl_check_cmd and { { 'HSET', KEYS[1], 'f', 'v' } }
  local e = idx_prepare(sec, idx_vals(sec, nil, given), checks)
  if e then return e, sec end
  local msg = idx_unique_new(sec, given)
  if msg then return redis.error_reply(msg), sec end
  if sec.guard and sec.guard ~= '=' .. text then
    -- Not the value the caller claimed (or none claimed yet): say which
    -- value this write computes, in hex (an error reply is one line).
    local hex = string.gsub(text, '.', function(c) return string.format('%02x', string.byte(c)) end)
    return redis.error_reply('CLAIM ' .. hex), sec
  end
  return nil, sec
end

-- idx_forget removes every entry of id (x:i of every field named in x:rev,
-- found through keys: field name -> x:i key), its x:rev and x:all entries.
-- s is what x:rev holds for id when known (idx_rev).
local function idx_forget(rev, all, keys, id, s)
  local old = idx_rev(rev, id, s)
  for f, k in pairs(old) do
    if keys[f] then redis.call('ZREM', keys[f], k .. '\0' .. id) end
  end
  redis.call('HDEL', rev, id)
  redis.call('ZREM', all, id)
end

-- idx_keys maps the section's field names to their x:i keys.
local function idx_keys(sec)
  local keys = {}
  for _, f in ipairs(sec.fields) do keys[f.name] = f.key end
  return keys
end

-- write_object writes an object's fields for insert, update and save: n
-- field/value pairs from ARGV[i] (and `_v` = ver, when given), then a
-- fields to remove, then container
-- blocks up to the index section (ARGV[#ARGV] counts its items), and keeps
-- the section's indexes. Unique values are checked before the first write;
-- it returns that error reply, or nil. The caller has checked the hash
-- (read_object); container keys are not checked, since they are deleted
-- and rewritten whatever they held; idx_prepare checks the index keys the
-- write touches.
local function write_object(i, n, a, ver)
  local sec, stop = idx_parse()
  -- An ACL that refuses one of the commands below would stop the script
  -- halfway, its earlier writes kept: ask first.
  local checks
  if redis.acl_check_cmd then
    checks = { { 'HSET', KEYS[1], 'f', 'v' } }
    if a > 0 then checks[#checks + 1] = { 'HDEL', KEYS[1], 'f' } end
    local j, last = i + 2 * n + a, stop - 1
    while j <= last do
      local key, c = KEYS[tonumber(ARGV[j])], tonumber(ARGV[j + 2])
      checks[#checks + 1] = { 'DEL', key }
      if c > 0 then
        local w = writers[ARGV[j + 1]]
        if w == 'ZADD' then checks[#checks + 1] = { w, key, '0', 'm' } else checks[#checks + 1] = { w, key, 'f', 'v' } end
      end
      j = j + 3 + c
    end
  end
  if sec then
    -- What is written is known: fields of the section that this write
    -- leaves alone are read (idx_vals), the others not.
    local texts = {}
    for j = i, i + 2 * n - 1, 2 do texts[ARGV[j]] = ARGV[j + 1] end
    for j = i + 2 * n, i + 2 * n + a - 1 do texts[ARGV[j]] = false end
    local e = idx_prepare(sec, idx_vals(sec, nil, texts), checks)
    if e then return e end
    local msg = idx_unique_new(sec, texts)
    if msg then return redis.error_reply(msg) end
  elseif checks then
    local e = acl_refusal(checks)
    if e then return e end
  end
  if ver and n > 0 then
    redis.call('HSET', KEYS[1], '_v', ver, unpack(ARGV, i, i + 2 * n - 1))
  elseif ver then
    redis.call('HSET', KEYS[1], '_v', ver)
  elseif n > 0 then
    redis.call('HSET', KEYS[1], unpack(ARGV, i, i + 2 * n - 1))
  end
  if a > 0 then redis.call('HDEL', KEYS[1], unpack(ARGV, i + 2 * n, i + 2 * n + a - 1)) end
  write_containers(i + 2 * n + a, stop - 1)
  if sec then idx_write(sec) end
  return nil
end
