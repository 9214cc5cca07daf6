-- query.lua: (to be written; see lua/index.lua for the index layout)
return redis.error_reply('INVALID query.lua is not written yet')
