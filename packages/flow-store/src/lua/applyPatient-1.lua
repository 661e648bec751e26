--[[
  Apply the effect of one flow event on one patient and the aggregates it feeds,
  exactly once. All keys belong to one site (one hash slot).

  KEYS[1]  patient state key (JSON string)
  KEYS[2]  offsets hash of the site ("<topic>:<partition>" -> last applied offset)
  KEYS[3..] aggregate keys, referenced by index from the ops

  ARGV[1]  offset field "<topic>:<partition>" ('' when not consuming Kafka)
  ARGV[2]  offset (integer) of the event in that partition
  ARGV[3]  new patient state JSON; '' = unchanged; '-' = delete
  ARGV[4..] ops, four arguments each: op, keyIndex, a, b ('' when unused):
             "hincr" field by | "zadd" member score | "zrem" member
             "due" patientId steps (the patient's next due time in a due set; due.lua)
             "hset" field value | "hdelif" field value (delete when it equals value)
             "sadd" member | "srem" member | "hsetnx" field value
             "set" value (another patient's state, e.g. the record an A40 merge retires)
             "ack" ackJSON outboxKeyIndex (alert key)
             "own" ownerJSON outboxKeyIndex (alert key; a new owner replaces the last, not once resolved)
             "move" placeJSON outboxKeyIndex (alert key; ward, team, area: the alert follows the patient)
             "resolve" resolvedAt "alertsIndexKeyIndex,outboxKeyIndex" (alert key)
           An acknowledged, owned, moved or resolved alert gets the next version and is added to
           the site's alert outbox stream (field 'a'), in the same transaction.
             "rpush" value
             "hist" keep items                (a patient's history list: history.lua)

  Returns  -1 when this offset was already applied (nothing changed),
           otherwise the number of ops applied.
]]
--#include alerts.lua
--#include history.lua
--#include due.lua

-- Check every op before writing anything: a script that fails half way would leave a
-- half-applied change (Redis does not roll back a script's writes).
local known = { hincr = true, zadd = true, zrem = true, due = true, hset = true, hsetnx = true, hdelif = true, sadd = true, srem = true, rpush = true, hist = true, set = true, ack = true, own = true, move = true, resolve = true }
-- Each history list's length, read by the check and used by the write (per op's ARGV index).
local histLen = {}
for i = 4, #ARGV, 4 do
  local kind, idx = ARGV[i], tonumber(ARGV[i + 1])
  if not known[kind] then return redis.error_reply('unknown op ' .. tostring(kind)) end
  if not idx or not KEYS[idx] then return redis.error_reply('op ' .. kind .. ' names no key') end
  if kind == 'hincr' and not tonumber(ARGV[i + 3]) then return redis.error_reply('hincr by a non-number') end
  if kind == 'zadd' and not tonumber(ARGV[i + 3]) then return redis.error_reply('zadd with a non-number score') end
  if kind == 'resolve' and not tonumber(ARGV[i + 2]) then return redis.error_reply('resolve at a non-number time') end
  if kind == 'due' then
    local t = redis.call('TYPE', KEYS[idx])['ok']
    if t ~= 'none' and t ~= 'zset' then return redis.error_reply('op due names no key of type zset') end
    if ARGV[i + 2] == '' or not dueStepsValid(ARGV[i + 3]) then return redis.error_reply('due with bad steps') end
  end
  if kind == 'hist' then
    local t = redis.call('TYPE', KEYS[idx])['ok']
    if t ~= 'none' and t ~= 'list' then return redis.error_reply('op hist names no key of type list') end
    local problem, len = historyProblem(KEYS[idx], ARGV[i + 2])
    if problem then return redis.error_reply(problem) end
    histLen[i] = len
  end
end

local offsetField = ARGV[1]
if offsetField ~= '' then
  local last = redis.call('HGET', KEYS[2], offsetField)
  if last and tonumber(last) >= tonumber(ARGV[2]) then
    return -1
  end
  redis.call('HSET', KEYS[2], offsetField, ARGV[2])
end

if ARGV[3] == '-' then
  redis.call('DEL', KEYS[1])
elseif ARGV[3] ~= '' then
  redis.call('SET', KEYS[1], ARGV[3])
end

local n = 0
for i = 4, #ARGV, 4 do
  n = n + 1
  local op = { ARGV[i], tonumber(ARGV[i + 1]), ARGV[i + 2], ARGV[i + 3] }
  local key = KEYS[op[2]]
  local kind = op[1]
  if kind == 'hincr' then
    local n = redis.call('HINCRBY', key, op[3], op[4])
    if n == 0 and op[3] ~= 'seq' then redis.call('HDEL', key, op[3]) end
  elseif kind == 'zadd' then
    redis.call('ZADD', key, op[4], op[3])
  elseif kind == 'zrem' then
    redis.call('ZREM', key, op[3])
  elseif kind == 'due' then
    dueApply(key, op[3], op[4])
  elseif kind == 'hset' then
    redis.call('HSET', key, op[3], op[4])
  elseif kind == 'hsetnx' then
    redis.call('HSETNX', key, op[3], op[4])
  elseif kind == 'hdelif' then
    if redis.call('HGET', key, op[3]) == op[4] then redis.call('HDEL', key, op[3]) end
  elseif kind == 'sadd' then
    redis.call('SADD', key, op[3])
  elseif kind == 'srem' then
    redis.call('SREM', key, op[3])
  elseif kind == 'set' then
    redis.call('SET', key, op[3])
  elseif kind == 'rpush' then
    redis.call('RPUSH', key, op[3])
  elseif kind == 'hist' then
    historyWrite(key, op[3], op[4], histLen[i])
  elseif kind == 'ack' then
    ackAlert(key, op[3], KEYS[tonumber(op[4])])
  elseif kind == 'own' then
    ownAlert(key, op[3], KEYS[tonumber(op[4])])
  elseif kind == 'move' then
    moveAlert(key, op[3], KEYS[tonumber(op[4])])
  elseif kind == 'resolve' then
    local idx = {}
    for v in string.gmatch(op[4], '[^,]+') do idx[#idx + 1] = tonumber(v) end
    resolveAlert(key, op[3], KEYS[idx[1]], KEYS[idx[2]])
  else
    return redis.error_reply('unknown op ' .. tostring(kind))
  end
end
return n
