-- save.head.lua: save.lua's fast path (savefast.lua) for the one object of
-- a Save with no version check, no container (one key) and no index.
if ARGV[4] ~= '' or ARGV[2] ~= '1' or ARGV[#ARGV] ~= '0' then return nil end
local n, x = tonumber(ARGV[5]), tonumber(ARGV[6])
if 7 + 2 * n + x ~= #ARGV then return nil end
return save_fast(KEYS[1], ARGV, 7, n, x, ARGV[1], ARGV[3])
