-- lockcheck.lua: runs before save.lua in LockedSave (WithLock with WithSave),
-- so that the save and the check that its lock is still held are one
-- script: a lock that expired or was taken by another owner after fn ran
-- saves nothing.
-- It takes the last of KEYS (the lock key) and the last of ARGV (the owner
-- token) off both tables, so save.lua then sees exactly its own KEYS and
-- ARGV (its index section ends at ARGV[#ARGV]).
-- Errors: LOCKLOST (the lock key is gone, or holds another owner); nothing
-- is written.
do
  local lock_key, lock_owner = KEYS[#KEYS], ARGV[#ARGV]
  KEYS[#KEYS], ARGV[#ARGV] = nil, nil
  local holder = redis.call('GET', lock_key)
  if holder ~= lock_owner then
    if holder then return fail('LOCKLOST', 'lock expired and another owner holds it now') end
    return fail('LOCKLOST', 'lock expired')
  end
end
