-- reindex.lua: (to be written; see lua/index.lua for the index layout)
return redis.error_reply('INVALID reindex.lua is not written yet')
