-- touch.lua: what a container write does besides the write, for the
-- blocking pops (List.BPop, List.BPopFront, List.BMove, SortedSet.BPopMin,
-- SortedSet.BPopMax), whose pop is a blocking command outside any script:
-- bump the object's version and apply the TTL mode to its keys.
-- KEYS, ARGV: the prelude's convention; no arguments of its own.
-- Reply: the new version, or nil when the object no longer exists or its
-- hash is not one rapyer wrote (then nothing is written: the popped
-- elements are the caller's all the same).
local got = redis.pcall('HMGET', KEYS[1], '_v')
if got.err or not got[1] or not string.find(got[1], '^%d+$') then return false end
bump()
touch()
return bumped
