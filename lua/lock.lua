-- lock.lua: named per-object locks (to be written).
return redis.error_reply('INVALID unknown op')
