--[[
  Escalate an unacknowledged alert to a higher level, exactly once: the level is only
  ever raised, so a second scanner, a repeated pass or a replay of the same step finds
  it written and changes nothing. An acknowledged, resolved or expired alert leaves the
  escalation schedule instead.

  KEYS[1]  alert key (JSON)
  KEYS[2]  escalation schedule of the site (sorted set, member alertId)
  KEYS[3]  alert outbox stream (field 'a' = alert JSON)

  ARGV[1]  escalation JSON { level, role, at }
  ARGV[2]  level (integer > 0)
  ARGV[3]  when the next level falls due ('-': the chain's end, off the schedule)
  ARGV[4]  alert id

  Returns  1 when escalated now, 0 otherwise.
]]
--#include alerts.lua

if not tonumber(ARGV[2]) or tonumber(ARGV[2]) < 1 then return redis.error_reply('escalate to a bad level') end
if escalateAlert(KEYS[1], ARGV[1], ARGV[2], ARGV[3], KEYS[2], KEYS[3], ARGV[4]) then return 1 end
return 0
