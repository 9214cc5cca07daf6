-- list.lua: operations on a LIST container of an object.
-- KEYS[1] hash; KEYS[2..ARGV[2]] the object's other keys
-- ARGV[1] TTL mode (prelude); ARGV[2] number of object keys
-- ARGV[3] index of the list's key in KEYS; ARGV[4] op; ARGV[5..] operands
--   rpush v...       -> the new length
--   lpush v...       -> the new length; the list then starts with v... in
--                       argument order (LPUSH of them reversed; RPUSH when
--                       the list is empty, since miniredis's LPUSH copies the
--                       whole list per element)
--   insert i v       -> {index inserted at, new length} (Python list.insert)
--   pop | popfront   -> {} when empty, else {value}
--   popat i          -> {} when empty, else {value, index} (RANGE when i is
--                       outside a non-empty list)
--   set i v          -> the index written (RANGE when outside the list)
--   rem count v      -> the number removed (LREM)
--   delrange s e     -> {s, e, length before}: del l[s:e], bounds resolved
--   trim s e         -> {s, e, length before}: l = l[s:e], bounds resolved
-- Indexes come in as decimal integers within +-2^53 (the Go side clamps
-- them), so every computation on them is exact in a Lua double.
-- Errors: NOTFOUND, WRONGTYPE, DECODE (_v), RANGE, INVALID; nothing is
-- written on any error.
local key, e = open_container('list')
if not key then return e end
local op = ARGV[4]

-- push sends t[from..to] with cmd in slices (prelude's sliced) and returns
-- the last reply (the new length).
local function push(cmd, t, from, to)
  local _, n = sliced(cmd, key, nil, t, from, to)
  return n
end

-- bound resolves a Python slice bound (or list.insert index) against
-- length n: negative counts from the end, then clamped to [0, n].
local function bound(s, n)
  local i = tonumber(s)
  if i < 0 then i = i + n end
  if i < 0 then return 0 end
  if i > n then return n end
  return i
end

-- index resolves a Python element index against length n; nil when out of
-- range.
local function index(s, n)
  local i = tonumber(s)
  if i < 0 then i = i + n end
  if i < 0 or i >= n then return nil end
  return i
end

-- splice makes the list l[0:i] .. ins .. l[i+ndel:n] for 0 < i and
-- i + ndel < n, copying the shorter side: the head is read, trimmed off and
-- pushed back in front, or the tail is read, trimmed off and pushed back
-- behind. O(min(i, n-i-ndel)) elements move; duplicates do not matter.
local function splice(n, i, ndel, ins)
  local r = {}
  if i <= n - i - ndel then
    local head = redis.call('LRANGE', key, 0, i - 1)
    redis.call('LTRIM', key, i + ndel, -1)
    for j = #ins, 1, -1 do r[#r + 1] = ins[j] end
    for j = #head, 1, -1 do r[#r + 1] = head[j] end
    push('LPUSH', r, 1, #r)
  else
    local tail = redis.call('LRANGE', key, i + ndel, -1)
    redis.call('LTRIM', key, 0, i - 1)
    for j = 1, #ins do r[#r + 1] = ins[j] end
    for j = 1, #tail do r[#r + 1] = tail[j] end
    push('RPUSH', r, 1, #r)
  end
end

-- unique_at reports whether v, the element at index i, does not occur
-- before i (LPOS over the first i elements), so that LINSERT/LREM, which
-- address the first occurrence, address index i.
local function unique_at(v, i)
  return not redis.call('LPOS', key, v, 'MAXLEN', i)
end

if op == 'rpush' then
  local n = push('RPUSH', ARGV, 5, #ARGV)
  bump()
  touch()
  return n
end

if op == 'lpush' then
  local n
  if redis.call('LLEN', key) == 0 then
    n = push('RPUSH', ARGV, 5, #ARGV)
  else
    local r = {}
    for j = #ARGV, 5, -1 do r[#r + 1] = ARGV[j] end
    n = push('LPUSH', r, 1, #r)
  end
  bump()
  touch()
  return n
end

if op == 'insert' then
  local n = redis.call('LLEN', key)
  local i, v = bound(ARGV[5], n), ARGV[6]
  if i == 0 then
    redis.call('LPUSH', key, v)
  elseif i == n then
    redis.call('RPUSH', key, v)
  else
    local pivot = redis.call('LINDEX', key, i)
    if unique_at(pivot, i) then
      redis.call('LINSERT', key, 'BEFORE', pivot, v)
    else
      splice(n, i, 0, { v })
    end
  end
  bump()
  touch()
  return { i, n + 1 }
end

if op == 'pop' or op == 'popfront' then
  local v = redis.call(op == 'pop' and 'RPOP' or 'LPOP', key)
  if v then bump() end
  touch()
  if not v then return {} end
  return { v }
end

if op == 'popat' then
  local n = redis.call('LLEN', key)
  if n == 0 then
    touch()
    return {}
  end
  local i = index(ARGV[5], n)
  if not i then return fail('RANGE', 'index ' .. ARGV[5] .. ' outside a list of ' .. n) end
  local v
  if i == 0 then
    v = redis.call('LPOP', key)
  elseif i == n - 1 then
    v = redis.call('RPOP', key)
  else
    v = redis.call('LINDEX', key, i)
    if unique_at(v, i) then
      redis.call('LREM', key, 1, v)
    else
      splice(n, i, 1, {})
    end
  end
  bump()
  touch()
  return { v, i }
end

if op == 'set' then
  local n = redis.call('LLEN', key)
  local i = index(ARGV[5], n)
  if not i then return fail('RANGE', 'index ' .. ARGV[5] .. ' outside a list of ' .. n) end
  redis.call('LSET', key, i, ARGV[6])
  bump()
  touch()
  return i
end

if op == 'rem' then
  local r = redis.call('LREM', key, ARGV[5], ARGV[6])
  if r > 0 then bump() end
  touch()
  return r
end

if op == 'delrange' then
  local n = redis.call('LLEN', key)
  local s, e = bound(ARGV[5], n), bound(ARGV[6], n)
  if s < e then
    if s == 0 and e == n then
      redis.call('DEL', key)
    elseif s == 0 then
      redis.call('LTRIM', key, e, -1)
    elseif e == n then
      redis.call('LTRIM', key, 0, s - 1)
    else
      splice(n, s, e - s, {})
    end
    bump()
  else
    e = s
  end
  touch()
  return { s, e, n }
end

if op == 'trim' then
  local n = redis.call('LLEN', key)
  local s, e = bound(ARGV[5], n), bound(ARGV[6], n)
  if s >= e then
    e = s
    if n > 0 then
      redis.call('DEL', key)
      bump()
    end
  elseif s > 0 or e < n then
    redis.call('LTRIM', key, s, e - 1)
    bump()
  end
  touch()
  return { s, e, n }
end

return fail('INVALID', 'unknown op ' .. op)
