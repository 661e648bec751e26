--[[
  The scanner's raise for due patients (one or a page of one site): for each patient,
  only if Redis still holds the patient exactly as the scanner read it (its stamp: the
  SHA-1 of its state and history, see store.ts `loadStamped`), raise the alerts of the
  clocks the scanner found due in that state (each once: SET NX, as raiseAlert-1.lua),
  take the patient's per-clock members of the older form out of the due set, and re-arm
  the patient's member at its next due time (or take it out: no clock left to fire). An
  event applied since the read changed the stamp: nothing of that patient is written
  (a clock the event stopped or moved is not raised, a clock it started is not passed
  over) and the scanner reads the patient again. All keys belong to one site.

  KEYS[1]  due set (one member per patient; older per-clock members "patientId<US>alertId")
  KEYS[2]  site alert index (sorted set, score = becameTrueAt)
  KEYS[3]  alert outbox stream (field 'a' = alert JSON)
  KEYS[4]  escalation schedule (sorted set)
  KEYS[5]  follow-up clocks still to fire (sorted set, member "patientId<US>alertId")
  KEYS[6..] patient state and history keys, alert keys and counters hashes, by index

  ARGV, per patient: patientId, stateIdx, historyIdx, stamp, next ('' = none),
           legacyCount, that many members to take out, alertCount, then per alert seven
           arguments: alertKeyIdx, countsIdx, alert JSON (version 1), alert id,
           becameTrueAt, escalateAt ('-': never escalates), '1' for a follow-up clock ('' else)

  Returns  per patient: -1 when it changed since it was read (nothing written for it),
           else a list with 1 (raised now) or 0 (raised before) per alert
]]
--#include alerts.lua

local function typeIs(key, want)
  local t = redis.call('TYPE', key)['ok']
  return t == 'none' or t == want
end
if not (typeIs(KEYS[1], 'zset') and typeIs(KEYS[2], 'zset') and typeIs(KEYS[3], 'stream') and typeIs(KEYS[4], 'zset') and typeIs(KEYS[5], 'zset')) then return redis.error_reply('a site key of another type') end

-- Every argument checked, and every counters hash's type, before anything is written.
local function idx(v)
  local i = tonumber(v)
  if not i or i < 6 or not KEYS[i] then return nil end
  return i
end
local patients = {}
local counters = {}
local i = 1
while i <= #ARGV do
  local p = { id = ARGV[i], state = idx(ARGV[i + 1]), history = idx(ARGV[i + 2]), stamp = ARGV[i + 3], next = ARGV[i + 4] }
  if not p.state or not p.history or not p.stamp or p.id == '' then return redis.error_reply('patient names no key') end
  if p.next ~= '' and not tonumber(p.next) then return redis.error_reply('bad next due time') end
  local nl = tonumber(ARGV[i + 5])
  if not nl then return redis.error_reply('bad legacy count') end
  p.legacy = {}
  for j = 1, nl do p.legacy[j] = ARGV[i + 5 + j] end
  i = i + 6 + nl
  local na = tonumber(ARGV[i])
  if not na then return redis.error_reply('bad alert count') end
  p.alerts = {}
  for j = 1, na do
    local b = i + 1 + (j - 1) * 7
    local a = { key = idx(ARGV[b]), counts = idx(ARGV[b + 1]), json = ARGV[b + 2], id = ARGV[b + 3], at = ARGV[b + 4], esc = ARGV[b + 5], followup = ARGV[b + 6] }
    if not a.key or not a.counts or not a.json or not tonumber(a.at) or not (a.esc == '-' or tonumber(a.esc)) then return redis.error_reply('alert item without its keys, time or escalation time') end
    if not counters[a.counts] then
      if not typeIs(KEYS[a.counts], 'hash') then return redis.error_reply('a counters key of another type') end
      counters[a.counts] = true
    end
    p.alerts[j] = a
  end
  i = i + 1 + na * 7
  patients[#patients + 1] = p
end

local out = {}
for n, p in ipairs(patients) do
  local state = redis.call('GET', KEYS[p.state]) or ''
  local items = redis.call('LRANGE', KEYS[p.history], 0, -1)
  if redis.sha1hex(state .. '\31' .. table.concat(items, '\30')) ~= p.stamp then
    out[n] = -1
  else
    local raised = {}
    for j, a in ipairs(p.alerts) do
      if a.followup == '1' then redis.call('ZREM', KEYS[5], p.id .. '\31' .. a.id) end
      raised[j] = raiseAlert(KEYS[a.key], a.json, KEYS[2], KEYS[3], KEYS[a.counts], a.at, a.id, KEYS[4], a.esc) and 1 or 0
    end
    if #p.legacy > 0 then redis.call('ZREM', KEYS[1], unpack(p.legacy)) end
    if p.next == '' then redis.call('ZREM', KEYS[1], p.id) else redis.call('ZADD', KEYS[1], p.next, p.id) end
    out[n] = raised
  end
end
return out
