--[[
  Commit a run of consecutive flow events of one partition and one site, atomically:
  every patient's new state, the netted aggregate changes, clocks, alert changes (with
  their outbox entries) and the partition offset, or nothing. All keys belong to one
  site (one hash slot). The ops were validated by the engine; they are checked again
  here, with the type of every key (asked once per key per call), before anything is
  written, so the script cannot fail half way.

  KEYS[1]  offsets hash of the site ("<topic>:<partition>" -> last applied offset)
  KEYS[2]  fence hash of the site ("<topic>:<partition>" -> epoch of the owner)
  KEYS[3..] keys referenced by index from the ops

  ARGV[1]  field "<topic>:<partition>"
  ARGV[2]  first offset of the run
  ARGV[3]  last offset of the run
  ARGV[4]  epoch of the caller's ownership of the partition, optionally followed by
           <US> the state id the caller has seen for this site ('-': none yet) <US> a new
           state id to record when the site has none. The state id lives in the fence
           hash (field '~sid'): a caller that has seen one and finds none (or another) is
           talking to a Redis that lost or replaced this site's state since (restarted
           empty, flushed): its run is refused, so that a commit sent before the loss and
           delivered after it (a client's offline queue, a resend on reconnect) cannot
           write into the empty store as if nothing happened.
  ARGV[5..] ops, four arguments each: op, keyIndex, a, b ('' when unused):
             "set" value                      (a patient's state JSON, its events in its history list)
             "hist" keep items                (the history list: first `keep` items kept, items appended; history.lua)
             "hincr" field by                 (field deleted at 0, except "seq")
             "zadd" member score | "zrem" member
             "due" patientId steps            (the patient's next due time; due.lua)
             "sadd" member | "srem" member
             "raise" alertJSON "alertsIdx<US>outboxIdx<US>countsIdx<US>escIdx<US>becameTrueAt<US>alertId<US>escalateAt"
             "ack" ackJSON "outboxIdx"
             "own" ownerJSON "outboxIdx"          (owner replaced unless resolved)
             "move" placeJSON "outboxIdx"         (ward, team, area: the alert follows the patient)
             "resolve" resolvedAt "alertsIdx<US>outboxIdx"
           raise: SET NX the alert (version 1), index it, add it to the outbox, bump
           the scope's seq, put it on the escalation schedule at escalateAt ('-': never). ack/own/move/resolve: the next version of the alert, to the outbox.

  Returns  { 1, ops, micros }     applied (micros: time spent in the script)
           { -1, lastApplied }    refused: this run, or part of it, was applied before
           { -2, ownerEpoch }     refused: another owner holds the partition (zombie)
           { -3, 0 }              refused: the site's state id is gone or another (state lost)
  An applied run returns the site's state id as a fourth element when the header carries one.
]]
--#include alerts.lua
--#include history.lua
--#include due.lua

local t0 = redis.call('TIME')
local field, first, last = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local epochArg, sidSeen, sidNew = string.match(ARGV[4], '^([^\31]*)\31([^\31]*)\31([^\31]*)$')
if not epochArg then epochArg = ARGV[4] end
local epoch = tonumber(epochArg)
if not first or not last or not epoch or first > last then return redis.error_reply('bad run header') end
if sidSeen and (sidSeen == '' or sidNew == '') then return redis.error_reply('bad run header') end

local sid = redis.call('HGET', KEYS[2], '~sid')
if sidSeen and sidSeen ~= '-' and sid ~= sidSeen then return { -3, 0 } end

local owner = tonumber(redis.call('HGET', KEYS[2], field) or '0')
if owner > epoch then return { -2, owner } end
local applied = redis.call('HGET', KEYS[1], field)
if applied and tonumber(applied) >= first then return { -1, tonumber(applied) } end

local TYPE = { set = 'string', hist = 'list', hincr = 'hash', zadd = 'zset', zrem = 'zset', due = 'zset', sadd = 'set', srem = 'set', raise = 'string', ack = 'string', own = 'string', move = 'string', resolve = 'string' }
local function refs(s)
  local out = {}
  for v in string.gmatch(s, '[^\31]+') do out[#out + 1] = v end
  return out
end
-- Each key's type, asked once per call: nothing is written before every op is checked,
-- so a key's type cannot change between two checks of it.
local types = {}
local function checkKey(idx, want)
  local i = tonumber(idx) or 0
  local t = types[i]
  if not t then
    local k = KEYS[i]
    if not k then return false end
    t = redis.call('TYPE', k)['ok']
    types[i] = t
  end
  return t == 'none' or t == want
end
-- Each history list's length, read by the check and used by the write (per op's ARGV index).
local histLen = {}
for i = 5, #ARGV, 4 do
  local kind, idx, a, b = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local want = TYPE[kind]
  if not want then return redis.error_reply('unknown op ' .. tostring(kind)) end
  if not checkKey(idx, want) then return redis.error_reply('op ' .. kind .. ' names no key of type ' .. want) end
  if kind == 'hincr' and not tonumber(b) then return redis.error_reply('hincr by a non-number') end
  if kind == 'zadd' and not tonumber(b) then return redis.error_reply('zadd with a non-number score') end
  if kind == 'resolve' and not tonumber(a) then return redis.error_reply('resolve at a non-number time') end
  if kind == 'due' and (a == '' or not dueStepsValid(b)) then return redis.error_reply('due with bad steps') end
  if kind == 'hist' then
    local problem, len = historyProblem(KEYS[tonumber(idx)], a)
    if problem then return redis.error_reply(problem) end
    histLen[i] = len
  end
  if kind == 'raise' or kind == 'ack' or kind == 'own' or kind == 'move' or kind == 'resolve' then
    local r = refs(b)
    if kind == 'raise' and (#r ~= 7 or not checkKey(r[1], 'zset') or not checkKey(r[2], 'stream') or not checkKey(r[3], 'hash') or not checkKey(r[4], 'zset') or not tonumber(r[5]) or not (r[7] == '-' or tonumber(r[7]))) then return redis.error_reply('raise with bad references') end
    if (kind == 'ack' or kind == 'own' or kind == 'move') and (#r ~= 1 or not checkKey(r[1], 'stream')) then return redis.error_reply(kind .. ' with bad references') end
    if kind == 'resolve' and (#r ~= 2 or not checkKey(r[1], 'zset') or not checkKey(r[2], 'stream')) then return redis.error_reply('resolve with bad references') end
  end
end

redis.call('HSET', KEYS[1], field, ARGV[3])
if owner < epoch then redis.call('HSET', KEYS[2], field, epochArg) end
if sidSeen and not sid then
  redis.call('HSET', KEYS[2], '~sid', sidNew)
  sid = sidNew
end

local n = 0
for i = 5, #ARGV, 4 do
  n = n + 1
  local kind, key, a, b = ARGV[i], KEYS[tonumber(ARGV[i + 1])], ARGV[i + 2], ARGV[i + 3]
  if kind == 'set' then
    redis.call('SET', key, a)
  elseif kind == 'hist' then
    historyWrite(key, a, b, histLen[i])
  elseif kind == 'hincr' then
    if redis.call('HINCRBY', key, a, b) == 0 and a ~= 'seq' then redis.call('HDEL', key, a) end
  elseif kind == 'zadd' then
    redis.call('ZADD', key, b, a)
  elseif kind == 'zrem' then
    redis.call('ZREM', key, a)
  elseif kind == 'due' then
    dueApply(key, a, b)
  elseif kind == 'sadd' then
    redis.call('SADD', key, a)
  elseif kind == 'srem' then
    redis.call('SREM', key, a)
  elseif kind == 'raise' then
    local r = refs(b)
    raiseAlert(key, a, KEYS[tonumber(r[1])], KEYS[tonumber(r[2])], KEYS[tonumber(r[3])], r[5], r[6], KEYS[tonumber(r[4])], r[7])
  elseif kind == 'ack' then
    ackAlert(key, a, KEYS[tonumber(b)])
  elseif kind == 'own' then
    ownAlert(key, a, KEYS[tonumber(b)])
  elseif kind == 'move' then
    moveAlert(key, a, KEYS[tonumber(b)])
  elseif kind == 'resolve' then
    local r = refs(b)
    resolveAlert(key, a, KEYS[tonumber(r[1])], KEYS[tonumber(r[2])])
  end
end
local t1 = redis.call('TIME')
local micros = (tonumber(t1[1]) - tonumber(t0[1])) * 1000000 + tonumber(t1[2]) - tonumber(t0[2])
if sidSeen then return { 1, n, micros, sid } end
return { 1, n, micros }
