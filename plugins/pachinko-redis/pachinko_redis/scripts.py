"""The Lua scripts: each runs one whole operation atomically inside Redis.

Times come from Redis's own clock (`TIME`), so process clocks never matter. A
member is `conn -> "<node>|<user json>"` in the room's `m` hash; `n` counts
members per node (the fan-out index); `s` holds the room's epoch `e`, last
offset `o` and the empty-room TTL `t` (ms); `h` is the history stream, whose
entry ids are the offsets.
"""

from __future__ import annotations

_NOW = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
"""

# Remove the members of nodes whose lease has run out; returns {conn, user, ...}.
_PURGE = """
local function purge(m, n, nodes, now)
  local dead, any = {}, false
  for _, node in ipairs(redis.call('HKEYS', n)) do
    local lease = redis.call('ZSCORE', nodes, node)
    if (not lease) or tonumber(lease) < now then
      dead[node] = true
      any = true
      redis.call('HDEL', n, node)
    end
  end
  local purged = {}
  if any then
    local all = redis.call('HGETALL', m)
    for i = 1, #all, 2 do
      local node = string.match(all[i + 1], '^([^|]*)')
      if dead[node] then
        redis.call('HDEL', m, all[i])
        table.insert(purged, all[i])
        table.insert(purged, string.sub(all[i + 1], #node + 2))
      end
    end
  end
  return purged
end
"""

_FANOUT = """
local function fanout(n, prefix, message)
  for _, node in ipairs(redis.call('HKEYS', n)) do
    redis.call('PUBLISH', prefix .. node, message)
  end
end
"""

# A room nobody is in: its history and position go after its TTL.
_EMPTIED = """
local function emptied(s, h, ttl)
  if ttl > 0 then
    redis.call('PEXPIRE', s, ttl)
    redis.call('PEXPIRE', h, ttl)
  else
    redis.call('DEL', s, h)
  end
end
"""

# KEYS m n s h nodes node_rooms rooms
# ARGV conn node user max history new_epoch inbox_prefix presence room ttl_ms
JOIN = (
    _NOW
    + _PURGE
    + _FANOUT
    + """
local purged = purge(KEYS[1], KEYS[2], KEYS[5], now)
local status = 'joined'
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  status = 'member'
elseif tonumber(ARGV[4]) > 0 and redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[4]) then
  status = 'full'
else
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. '|' .. ARGV[3])
  redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
  redis.call('SADD', KEYS[6], ARGV[9])
  redis.call('SADD', KEYS[7], ARGV[9])
end
local e = redis.call('HGET', KEYS[3], 'e')
if not e then
  e = ARGV[6]
  redis.call('DEL', KEYS[4])
  redis.call('HSET', KEYS[3], 'e', e, 'o', 0)
end
redis.call('HSET', KEYS[3], 't', ARGV[10])
local top = redis.call('HGET', KEYS[3], 'o')
local history = {}
if status ~= 'full' then
  redis.call('PERSIST', KEYS[3])
  redis.call('PERSIST', KEYS[4])
  if tonumber(ARGV[5]) > 0 then
    local rows = redis.call('XREVRANGE', KEYS[4], '+', '-', 'COUNT', ARGV[5])
    for i = #rows, 1, -1 do table.insert(history, rows[i][2][2]) end
  end
end
if status == 'joined' and ARGV[8] ~= '' then fanout(KEYS[2], ARGV[7], 'p' .. ARGV[8]) end
return {status, e, top, history, purged}
"""
)

# KEYS s h n m
# ARGV body history recovery recovery_ttl_ms new_epoch inbox_prefix ttl_ms
PUBLISH = (
    _FANOUT
    + """
local e = redis.call('HGET', KEYS[1], 'e')
if not e then
  e = ARGV[5]
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'e', e)
end
local off = redis.call('HINCRBY', KEYS[1], 'o', 1)
local history = tonumber(ARGV[2])
local occupied = redis.call('EXISTS', KEYS[4]) == 1
local keep = history
if occupied and tonumber(ARGV[3]) > keep then keep = tonumber(ARGV[3]) end
if keep > 0 then
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', keep, off .. '-0', 'f', ARGV[1])
end
if occupied then
  if history == 0 then redis.call('PEXPIRE', KEYS[2], ARGV[4]) end
elseif redis.call('PTTL', KEYS[1]) < 0 then
  redis.call('HSET', KEYS[1], 't', ARGV[7])
  local ttl = tonumber(ARGV[7])
  if ttl <= 0 then ttl = 1 end
  redis.call('PEXPIRE', KEYS[1], ttl)
  redis.call('PEXPIRE', KEYS[2], ttl)
end
fanout(KEYS[3], ARGV[6], 'b' .. off .. ' ' .. e .. ' ' .. ARGV[1])
return {e, off}
"""
)

# KEYS m n node_rooms rooms s h ; ARGV conn node room presence inbox_prefix ttl_ms
LEAVE = (
    _FANOUT
    + _EMPTIED
    + """
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
if redis.call('HINCRBY', KEYS[2], ARGV[2], -1) <= 0 then
  redis.call('HDEL', KEYS[2], ARGV[2])
  redis.call('SREM', KEYS[3], ARGV[3])
end
if redis.call('HLEN', KEYS[1]) == 0 then
  redis.call('SREM', KEYS[4], ARGV[3])
  emptied(KEYS[5], KEYS[6], tonumber(ARGV[6]))
end
if ARGV[4] ~= '' then fanout(KEYS[2], ARGV[5], 'p' .. ARGV[4]) end
return 1
"""
)

# KEYS m n nodes ; returns {members, purged}
MEMBERS = (
    _NOW
    + _PURGE
    + """
local purged = purge(KEYS[1], KEYS[2], KEYS[3], now)
return {redis.call('HKEYS', KEYS[1]), purged}
"""
)

# KEYS n ; ARGV inbox_prefix message
FANOUT = _FANOUT + "fanout(KEYS[1], ARGV[1], ARGV[2])\nreturn 1\n"

# KEYS user nodes ; ARGV inbox_prefix message ; returns how many live connections
SEND_TO_USER = (
    _NOW
    + """
local all = redis.call('HGETALL', KEYS[1])
local nodes, count = {}, 0
for i = 1, #all, 2 do
  local lease = redis.call('ZSCORE', KEYS[2], all[i + 1])
  if lease and tonumber(lease) >= now then
    count = count + 1
    nodes[all[i + 1]] = true
  end
end
for node, _ in pairs(nodes) do redis.call('PUBLISH', ARGV[1] .. node, ARGV[2]) end
return count
"""
)

# KEYS user nodes ; returns the live connections of a user
USER_CONNECTIONS = (
    _NOW
    + """
local all = redis.call('HGETALL', KEYS[1])
local found = {}
for i = 1, #all, 2 do
  local lease = redis.call('ZSCORE', KEYS[2], all[i + 1])
  if lease and tonumber(lease) >= now then table.insert(found, all[i]) end
end
return found
"""
)

# KEYS nodes node_rooms node_users ; ARGV node lease_ms inbox probe
# Returns {1 if this node was registered, dead nodes}.
HEARTBEAT = (
    _NOW
    + """
local was = redis.call('ZSCORE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[2], 3 * tonumber(ARGV[2]))
redis.call('PEXPIRE', KEYS[3], 3 * tonumber(ARGV[2]))
redis.call('PUBLISH', ARGV[3], 'h' .. ARGV[4])
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - 1, 'LIMIT', 0, 16)
return {was and 1 or 0, dead}
"""
)

# KEYS m n rooms s h ; ARGV dead_node room ; returns {conn, user, ...} removed
REAP_ROOM = (
    _EMPTIED
    + """
local removed = {}
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local node = string.match(all[i + 1], '^([^|]*)')
  if node == ARGV[1] then
    redis.call('HDEL', KEYS[1], all[i])
    table.insert(removed, all[i])
    table.insert(removed, string.sub(all[i + 1], #node + 2))
  end
end
redis.call('HDEL', KEYS[2], ARGV[1])
if #removed > 0 and redis.call('HLEN', KEYS[1]) == 0 then
  redis.call('SREM', KEYS[3], ARGV[2])
  emptied(KEYS[4], KEYS[5], tonumber(redis.call('HGET', KEYS[4], 't') or '600000'))
end
return removed
"""
)

# KEYS user ; ARGV dead_node
REAP_USER = """
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  if all[i + 1] == ARGV[1] then redis.call('HDEL', KEYS[1], all[i]) end
end
return 1
"""

# KEYS m n node_rooms rooms s h ; ARGV node room new_epoch [conn user]...
# Make this node's entries in the room match its local members; returns
# {e, o, {conn, user, ...} re-added}.
REASSERT = """
local want = {}
local count = 0
for i = 4, #ARGV, 2 do
  want[ARGV[i]] = ARGV[i + 1]
  count = count + 1
end
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local node = string.match(all[i + 1], '^([^|]*)')
  if node == ARGV[1] and not want[all[i]] then redis.call('HDEL', KEYS[1], all[i]) end
end
local added = {}
for conn, user in pairs(want) do
  if redis.call('HSET', KEYS[1], conn, ARGV[1] .. '|' .. user) == 1 then
    table.insert(added, conn)
    table.insert(added, user)
  end
end
if count > 0 then
  redis.call('HSET', KEYS[2], ARGV[1], count)
  redis.call('SADD', KEYS[3], ARGV[2])
  redis.call('SADD', KEYS[4], ARGV[2])
  redis.call('PERSIST', KEYS[5])
  redis.call('PERSIST', KEYS[6])
else
  redis.call('HDEL', KEYS[2], ARGV[1])
  redis.call('SREM', KEYS[3], ARGV[2])
  if redis.call('HLEN', KEYS[1]) == 0 then redis.call('SREM', KEYS[4], ARGV[2]) end
end
local e = redis.call('HGET', KEYS[5], 'e')
if not e then
  e = ARGV[3]
  redis.call('DEL', KEYS[6])
  redis.call('HSET', KEYS[5], 'e', e, 'o', 0)
end
return {e, redis.call('HGET', KEYS[5], 'o'), added}
"""
