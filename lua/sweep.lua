-- sweep.lua: (to be written; see lua/index.lua for the index layout)
return redis.error_reply('INVALID sweep.lua is not written yet')
