-- save.head.lua: save.lua's fast path (savefast.lua) for the one object of
-- a Save.
return save_fast(KEYS, ARGV, 0, 0, #ARGV)
