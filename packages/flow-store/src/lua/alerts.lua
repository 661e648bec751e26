--[[
  Alert changes (raise, acknowledge, own, move, escalate, resolve), shared by applyBatch-1.lua,
  applyPatient-1.lua, raiseAlert-1.lua and escalateAlert-1.lua: not a script of its own. store.ts puts this text in place of each script's
  `--#include alerts.lua` line when it loads the script, so a script is still one text
  (its SHA changes only with its content or this one's) and the alert rules are
  written once. Every alert change goes to the site's alert outbox stream (field 'a')
  in the same script call (toOutbox), except in a sandbox that publishes nothing.
]]

-- Adds an alert change to the site's outbox. A replay sandbox without outputs names its
-- outbox '<sbx.name>:{site}:aout.off' (Keys, `alertOutbox: false`): nothing would ever
-- read it, so nothing is written there. Only a key of a sandbox prefix ('sbx.') so named
-- is skipped; every other outbox key is written as always, so the live outbox cannot be
-- switched off.
local function toOutbox(outboxKey, alertJson)
  if string.sub(outboxKey, 1, 4) == 'sbx.' and string.sub(outboxKey, -9) == ':aout.off' then return end
  redis.call('XADD', outboxKey, '*', 'a', alertJson)
end

-- Raises an alert exactly once: SET NX (version 1), index it (score = becameTrueAt),
-- add it to the outbox, bump the scope's seq, and put it on the escalation schedule
-- when it escalates (escalateAt a number; '-' = its severity never escalates). True when
-- raised now, false when it had been raised before.
local function raiseAlert(key, alertJson, indexKey, outboxKey, countsKey, becameTrueAt, alertId, escKey, escalateAt)
  if not redis.call('SET', key, alertJson, 'NX') then return false end
  redis.call('ZADD', indexKey, becameTrueAt, alertId)
  toOutbox(outboxKey, alertJson)
  redis.call('HINCRBY', countsKey, 'seq', 1)
  if escKey and tonumber(escalateAt) then redis.call('ZADD', escKey, escalateAt, alertId) end
  return true
end

-- Escalates an alert to a higher level once: the next version (same TTL) with
-- `escalated` = escJson, to the outbox, and its next level on the schedule (nextAt a
-- number) or off it ('-'). An alert gone, acknowledged or resolved leaves the schedule
-- and does not change; one already at this level or higher (another scanner was first)
-- changes nothing. True when escalated now.
local function escalateAlert(key, escJson, level, nextAt, escKey, outboxKey, alertId)
  local raw = redis.call('GET', key)
  if not raw then
    redis.call('ZREM', escKey, alertId)
    return false
  end
  local alert = cjson.decode(raw)
  if alert['acknowledged'] ~= nil or alert['resolvedAt'] ~= nil then
    redis.call('ZREM', escKey, alertId)
    return false
  end
  local cur = alert['escalated']
  if type(cur) == 'table' and (tonumber(cur['level']) or 0) >= tonumber(level) then return false end
  alert['escalated'] = cjson.decode(escJson)
  alert['version'] = (tonumber(alert['version']) or 1) + 1
  local out = cjson.encode(alert)
  redis.call('SET', key, out, 'KEEPTTL')
  toOutbox(outboxKey, out)
  if tonumber(nextAt) then redis.call('ZADD', escKey, nextAt, alertId) else redis.call('ZREM', escKey, alertId) end
  return true
end

-- The alert at key, for its next version (version + 1); nil when it is gone or its
-- field is set already (nothing changes).
local function nextVersion(key, field)
  local raw = redis.call('GET', key)
  if not raw then return nil end
  local alert = cjson.decode(raw)
  if alert[field] ~= nil then return nil end
  alert['version'] = (tonumber(alert['version']) or 1) + 1
  return alert
end

-- Acknowledges an alert once (a gone alert is left alone): the next version, same TTL.
local function ackAlert(key, ackJson, outboxKey)
  local alert = nextVersion(key, 'acknowledged')
  if not alert then return end
  alert['acknowledged'] = cjson.decode(ackJson)
  local out = cjson.encode(alert)
  redis.call('SET', key, out, 'KEEPTTL')
  toOutbox(outboxKey, out)
end

-- A named person owns the alert (a later owner replaces the earlier one; the same owner
-- again changes nothing; never once resolved): the next version, same TTL.
local function ownAlert(key, ownerJson, outboxKey)
  local raw = redis.call('GET', key)
  if not raw then return end
  local alert = cjson.decode(raw)
  local owner = cjson.decode(ownerJson)
  local cur = alert['owner']
  if alert['resolvedAt'] ~= nil or (type(cur) == 'table' and cur['name'] == owner['name']) then return end
  alert['owner'] = owner
  alert['version'] = (tonumber(alert['version']) or 1) + 1
  local out = cjson.encode(alert)
  redis.call('SET', key, out, 'KEEPTTL')
  toOutbox(outboxKey, out)
end

-- The alert follows the patient (a transfer moved the clock that raised it): the ward,
-- team and area of placeJson replace the alert's (a field absent there is removed). A
-- gone or resolved alert, or one already there, changes nothing; otherwise the next
-- version, same TTL, to the outbox. Acknowledgement, owner and escalation stay.
local function moveAlert(key, placeJson, outboxKey)
  local raw = redis.call('GET', key)
  if not raw then return end
  local alert = cjson.decode(raw)
  if alert['resolvedAt'] ~= nil then return end
  local place = cjson.decode(placeJson)
  local changed = false
  for _, f in ipairs({ 'ward', 'team', 'area' }) do
    if alert[f] ~= place[f] then
      alert[f] = place[f]
      changed = true
    end
  end
  if not changed then return end
  alert['version'] = (tonumber(alert['version']) or 1) + 1
  local out = cjson.encode(alert)
  redis.call('SET', key, out, 'KEEPTTL')
  toOutbox(outboxKey, out)
end

-- Resolves an alert once (a gone alert is left alone): the next version, out of the
-- site's active index at once, kept 30 days for the audit trail.
local function resolveAlert(key, resolvedAt, indexKey, outboxKey)
  local alert = nextVersion(key, 'resolvedAt')
  if not alert then return end
  alert['resolvedAt'] = tonumber(resolvedAt)
  local out = cjson.encode(alert)
  redis.call('SET', key, out, 'PX', 2592000000)
  redis.call('ZREM', indexKey, alert['alertId'])
  toOutbox(outboxKey, out)
end
