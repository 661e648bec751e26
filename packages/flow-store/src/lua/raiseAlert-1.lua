--[[
  Raise an alert exactly once: the alert id is deterministic (rule, patient, spell,
  threshold), so a second scan, a restart or a replay of the same crossing finds it.

  KEYS[1]  alert key (JSON)
  KEYS[2]  site alert index (sorted set, score = becameTrueAt)
  KEYS[3]  due clocks (sorted set)
  KEYS[4]  alert outbox stream (alert changes waiting for Kafka; field 'a' = alert JSON)
  KEYS[5]  counters hash of the alert's scope (ward or team), for its seq
  KEYS[6]  escalation schedule (sorted set, score = when the next level falls due)

  ARGV[1]  alert JSON (version 1)
  ARGV[2]  alert id
  ARGV[3]  becameTrueAt
  ARGV[4]  due member to remove
  ARGV[5]  when the alert first falls due for escalation ('-': its severity never escalates)
  ARGV[6]  optional: raise only while the due member is still in KEYS[3] with a score at or
           before this time. The scanner passes its scan time: an event that stopped or moved
           the clock after the scanner read it (a return from leave, an MHA extension) has
           taken the member out, and the alert must not be raised after the fact.

  Returns  1 when raised, 0 when it had been raised before (or its clock no longer runs).
]]
--#include alerts.lua

if ARGV[6] and ARGV[6] ~= '' then
  local score = redis.call('ZSCORE', KEYS[3], ARGV[4])
  if not score or tonumber(score) > tonumber(ARGV[6]) then return 0 end
end
redis.call('ZREM', KEYS[3], ARGV[4])
if raiseAlert(KEYS[1], ARGV[1], KEYS[2], KEYS[4], KEYS[5], ARGV[3], ARGV[2], KEYS[6], ARGV[5]) then return 1 end
return 0
