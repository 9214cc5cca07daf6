-- int64.lua: exact signed 64-bit integer arithmetic for Lua 5.1, whose numbers
-- are doubles (exact only up to 2^53). Values travel as decimal strings; the
-- arithmetic runs on base-10^7 limbs, so every result is exact and every
-- result outside int64 is reported, never rounded.
--
-- local I = i64_load(), then:
-- I.parse(s)  -> value or nil (s must be a decimal integer of int64 range)
-- I.str(v)    -> decimal string
-- I.add, I.mul, I.floordiv, I.mod, I.pow -> value, or nil, code
--   where code is 'OVERFLOW' or 'DIVZERO'
-- I.cmp(a, b) -> -1, 0, 1

--
-- The library is defined lazily: Redis runs a script's whole body on every
-- call, so defining these functions costs on every call. Scripts call
-- i64_load() only on the paths that need exact arithmetic beyond 2^53.
-- The script's body holds one local of it, i64, the table i64_load makes:
-- each local a call's closures capture is one more allocation per call
-- (the ten functions as locals of the body cost Int.Incr about 0.4 us).
local i64 = nil

local function i64_load()
  if i64 then return i64 end
  local i64_make, i64_parse, i64_str, i64_cmp, i64_add, i64_mul, i64_divmod, i64_floordiv, i64_mod, i64_pow
  local I64_BASE = 10000000
  local I64_MAXPOS = nil -- magnitude of  9223372036854775807
  local I64_MAXNEG = nil -- magnitude of -9223372036854775808

  local function mag_digits(d)
    local t = {}
    local i = #d
    while i > 0 do
      local j = i - 6
      if j < 1 then j = 1 end
      t[#t + 1] = tonumber(string.sub(d, j, i))
      i = j - 1
    end
    while #t > 1 and t[#t] == 0 do t[#t] = nil end
    return t
  end

  local function mag_str(t)
    local parts = { string.format('%d', t[#t]) }
    for i = #t - 1, 1, -1 do
      parts[#parts + 1] = string.format('%07d', t[i])
    end
    return table.concat(parts)
  end

  local function mag_zero(t) return #t == 1 and t[1] == 0 end

  local function mag_cmp(a, b)
    if #a ~= #b then return (#a < #b) and -1 or 1 end
    for i = #a, 1, -1 do
      if a[i] ~= b[i] then return (a[i] < b[i]) and -1 or 1 end
    end
    return 0
  end

  local function mag_add(a, b)
    local r, carry = {}, 0
    local n = math.max(#a, #b)
    for i = 1, n do
      local s = (a[i] or 0) + (b[i] or 0) + carry
      if s >= I64_BASE then r[i] = s - I64_BASE; carry = 1 else r[i] = s; carry = 0 end
    end
    if carry > 0 then r[n + 1] = carry end
    return r
  end

  -- a >= b
  local function mag_sub(a, b)
    local r, borrow = {}, 0
    for i = 1, #a do
      local s = a[i] - (b[i] or 0) - borrow
      if s < 0 then r[i] = s + I64_BASE; borrow = 1 else r[i] = s; borrow = 0 end
    end
    while #r > 1 and r[#r] == 0 do r[#r] = nil end
    return r
  end

  local function mag_mul(a, b)
    local r = {}
    for i = 1, #a + #b do r[i] = 0 end
    for i = 1, #a do
      local carry = 0
      for j = 1, #b do
        local cur = r[i + j - 1] + a[i] * b[j] + carry
        carry = math.floor(cur / I64_BASE)
        r[i + j - 1] = cur - carry * I64_BASE
      end
      local k = i + #b
      while carry > 0 do
        local cur = r[k] + carry
        carry = math.floor(cur / I64_BASE)
        r[k] = cur - carry * I64_BASE
        k = k + 1
      end
    end
    while #r > 1 and r[#r] == 0 do r[#r] = nil end
    return r
  end

  local TWO49 = 562949953421312 -- 2^49

  -- mag_tonum is t as a double: exact below 2^53, rounded above.
  local function mag_tonum(t)
    local n = 0
    for i = #t, 1, -1 do n = n * I64_BASE + t[i] end
    return n
  end

  -- mag_fromnum is the magnitude of n, an integer double below 2^53 (math.fmod
  -- and the division of an exact multiple are exact; floor(n / base) is not).
  local function mag_fromnum(n)
    local t = {}
    repeat
      local d = math.fmod(n, I64_BASE)
      t[#t + 1] = d
      n = (n - d) / I64_BASE
    until n == 0
    return t
  end

  -- a = q*b + r, 0 <= r < b, b not zero; exact for every int64 magnitude.
  local function mag_divmod(a, b)
    local bd = mag_tonum(b)
    if bd < TWO49 then
      -- b is exact as a double and r*10 + 9 stays below 2^53: long division
      -- on doubles, one decimal digit of a at a time.
      local s = mag_str(a)
      local q, r = {}, 0
      for i = 1, #s do
        r = r * 10 + (string.byte(s, i) - 48)
        local m = math.fmod(r, bd)
        q[i] = string.char(48 + (r - m) / bd)
        r = m
      end
      return mag_digits(table.concat(q)), mag_fromnum(r)
    end
    -- b >= 2^49, so q < 2^64 / 2^49 = 2^15: the quotient of the doubles is off
    -- by at most one; correct it with exact arithmetic.
    local qe = math.floor(mag_tonum(a) / bd)
    local p = mag_mul(b, { qe })
    while mag_cmp(p, a) > 0 do
      qe = qe - 1
      p = mag_sub(p, b)
    end
    local r = mag_sub(a, p)
    while mag_cmp(r, b) >= 0 do
      qe = qe + 1
      r = mag_sub(r, b)
    end
    return mag_fromnum(qe), r
  end

  I64_MAXPOS = mag_digits('9223372036854775807')
  I64_MAXNEG = mag_digits('9223372036854775808')

  -- a value is { s = 1 or -1, m = magnitude }; zero always has s = 1
  i64_make = function(s, m)
    if mag_zero(m) then s = 1 end
    local limit = (s > 0) and I64_MAXPOS or I64_MAXNEG
    if mag_cmp(m, limit) > 0 then return nil, 'OVERFLOW' end
    return { s = s, m = m }
  end

  i64_parse = function(str)
    if type(str) ~= 'string' then return nil end
    local neg, digits = string.match(str, '^(%-?)(%d+)$')
    if not digits or #digits > 19 then return nil end
    if #digits > 1 and string.sub(digits, 1, 1) == '0' then return nil end
    if neg == '-' and digits == '0' then return nil end
    return i64_make(neg == '-' and -1 or 1, mag_digits(digits))
  end

  i64_str = function(v)
    local s = mag_str(v.m)
    if v.s < 0 then return '-' .. s end
    return s
  end

  i64_cmp = function(a, b)
    if a.s ~= b.s then return (a.s < b.s) and -1 or 1 end
    local c = mag_cmp(a.m, b.m)
    if a.s < 0 then return -c end
    return c
  end

  i64_add = function(a, b)
    if a.s == b.s then return i64_make(a.s, mag_add(a.m, b.m)) end
    local c = mag_cmp(a.m, b.m)
    if c == 0 then return i64_make(1, { 0 }) end
    if c > 0 then return i64_make(a.s, mag_sub(a.m, b.m)) end
    return i64_make(b.s, mag_sub(b.m, a.m))
  end

  i64_mul = function(a, b)
    return i64_make(a.s * b.s, mag_mul(a.m, b.m))
  end

  -- floored division and modulo, as Python's // and %: returns q, r with
  -- a = q*b + r and r of b's sign. q is nil when it leaves int64 (only
  -- MinInt64 // -1); r always fits, since |r| < |b|. b must not be zero.
  i64_divmod = function(a, b)
    local qm, rm = mag_divmod(a.m, b.m)
    if a.s == b.s or mag_zero(a.m) then
      return i64_make(1, qm), i64_make(b.s, rm)
    end
    if mag_zero(rm) then
      return i64_make(-1, qm), i64_make(1, { 0 })
    end
    return i64_make(-1, mag_add(qm, { 1 })), i64_make(b.s, mag_sub(b.m, rm))
  end

  i64_floordiv = function(a, b)
    if mag_zero(b.m) then return nil, 'DIVZERO' end
    local q = i64_divmod(a, b)
    if not q then return nil, 'OVERFLOW' end
    return q
  end

  -- The remainder is computed even when the quotient leaves int64:
  -- MinInt64 % -1 is 0.
  i64_mod = function(a, b)
    if mag_zero(b.m) then return nil, 'DIVZERO' end
    local _, r = i64_divmod(a, b)
    return r
  end

  -- a ^ e for e >= 0 (the caller rejects negative exponents)
  i64_pow = function(a, e)
    local one = { s = 1, m = { 1 } }
    if mag_zero(e.m) then return one end
    if mag_zero(a.m) then return a end
    if mag_cmp(a.m, { 1 }) == 0 then
      if a.s < 0 and e.m[1] % 2 == 1 then return a end
      return one
    end
    if mag_cmp(e.m, { 64 }) >= 0 then return nil, 'OVERFLOW' end
    local r = one
    for _ = 1, e.m[1] do
      local err
      r, err = i64_mul(r, a)
      if not r then return nil, err end
    end
    return r
  end
  i64 = { parse = i64_parse, str = i64_str, cmp = i64_cmp, add = i64_add, mul = i64_mul,
    floordiv = i64_floordiv, mod = i64_mod, pow = i64_pow }
  return i64
end
