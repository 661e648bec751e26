--[[
  Raise a page of fired clocks' alerts in one call, each exactly as raiseAlert-1.lua
  raises one (same checks, same writes, in the order given): a page of N clocks leaves
  the state N one-by-one calls in that order leave, with one round trip instead of N.
  Each alert is raised at most once however many callers race (SET NX on its
  deterministic id); the call is atomic, so another caller sees the page all raised or
  none of it. All keys belong to one site (one hash slot).

  KEYS[1]  site alert index (sorted set, score = becameTrueAt)
  KEYS[2]  due clocks (sorted set)
  KEYS[3]  alert outbox stream (field 'a' = alert JSON)
  KEYS[4]  escalation schedule (sorted set)
  KEYS[5..] alert keys and counters hashes, named by index from the items

  ARGV[1]  '' or the caller's scan time: then a clock is raised only while its due member
           is still in KEYS[2] with a score at or before this time (see raiseAlert-1.lua)
  ARGV[2..] items, seven arguments each: alertKeyIdx, countsIdx, alert JSON (version 1),
           alert id, becameTrueAt, due member, escalateAt ('-': never escalates)

  Returns  one number per item: 1 raised now, 0 raised before (or its clock no longer runs)
]]
--#include alerts.lua

local dueBy = tonumber(ARGV[1])
if ARGV[1] ~= '' and not dueBy then return redis.error_reply('bad scan time') end
if (#ARGV - 1) % 7 ~= 0 then return redis.error_reply('items of seven arguments expected') end
-- Every item and the type of every key that could refuse a write (the site's keys and
-- each counters hash, asked once each; SET NX of an alert cannot fail) checked before
-- anything is written, so the call cannot fail half way.
local function typeIs(key, want)
  local t = redis.call('TYPE', key)['ok']
  return t == 'none' or t == want
end
if not (typeIs(KEYS[1], 'zset') and typeIs(KEYS[2], 'zset') and typeIs(KEYS[3], 'stream') and typeIs(KEYS[4], 'zset')) then return redis.error_reply('a site key of another type') end
local counters = {}
for i = 2, #ARGV, 7 do
  local a, c = tonumber(ARGV[i]), tonumber(ARGV[i + 1])
  if not a or not c or a < 5 or c < 5 or not KEYS[a] or not KEYS[c] then return redis.error_reply('item names no key') end
  if not tonumber(ARGV[i + 4]) or not (ARGV[i + 6] == '-' or tonumber(ARGV[i + 6])) then return redis.error_reply('item without its time or escalation time') end
  if not counters[c] then
    if not typeIs(KEYS[c], 'hash') then return redis.error_reply('a counters key of another type') end
    counters[c] = true
  end
end

local out = {}
for i = 2, #ARGV, 7 do
  local member = ARGV[i + 5]
  local raised = 0
  local due = true
  if dueBy then
    local score = redis.call('ZSCORE', KEYS[2], member)
    due = score ~= false and score ~= nil and tonumber(score) <= dueBy
  end
  if due then
    redis.call('ZREM', KEYS[2], member)
    if raiseAlert(KEYS[tonumber(ARGV[i])], ARGV[i + 2], KEYS[1], KEYS[3], KEYS[tonumber(ARGV[i + 1])], ARGV[i + 4], ARGV[i + 3], KEYS[4], ARGV[i + 6]) then raised = 1 end
  end
  out[#out + 1] = raised
end
return out
