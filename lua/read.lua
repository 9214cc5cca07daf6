-- read.lua: the commands of a read unit, run atomically where MULTI/EXEC
-- cannot run them: a server out of memory (maxmemory, noeviction) refuses
-- every command queued in MULTI, while a script that only reads (PEXPIRE
-- aside, which allocates nothing) still runs.
-- KEYS[i] the key of command i
-- ARGV for each command in turn: its name, the count n of its other
--   arguments, then those n arguments
-- Reply: one reply per command, as EXEC gives them.
local out, a = {}, 1
for i = 1, #KEYS do
  local name, n = ARGV[a], tonumber(ARGV[a + 1])
  local args = {}
  for j = 1, n do args[j] = ARGV[a + 1 + j] end
  a = a + 2 + n
  out[i] = redis.call(name, KEYS[i], unpack(args))
end
return out
