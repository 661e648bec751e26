--[[
  A patient's next due time (the 'due' op the two apply scripts share; not a script of
  its own). The site's due set holds one member per patient, the patient id, scored by
  the earliest due time of its clocks still to fire (no member: none). An op carries the
  steps of one or more events of that patient, in order, "low;k,k,..." joined by '|':
  `low` the earliest due time of the clocks the event started or moved ('' none), the k
  the due times of its clocks that run on unchanged and were not raised by it. Each step
  takes the time `cur` to min(low, the least k at or after cur): a clock before `cur`
  has fired (or was dropped) already; with no `cur`, the clocks that ran on unchanged are
  covered by what else names the patient (a member of the per-clock form an older
  version wrote, "patientId<US>alertId"). The member is written once, only when its time
  changes. The scanner, reading the patient, raises what is due and re-arms it.
]]
local function dueStepsValid(steps)
  for step in string.gmatch(steps, '[^|]+') do
    local low, kept = string.match(step, '^([^;]*);(.*)$')
    if not low then return false end
    if low ~= '' and not tonumber(low) then return false end
    for k in string.gmatch(kept, '[^,]+') do
      if not tonumber(k) then return false end
    end
  end
  return true
end

local function dueApply(key, member, steps)
  local s = redis.call('ZSCORE', key, member)
  local cur = s and tonumber(s) or nil
  local x = cur
  for step in string.gmatch(steps, '[^|]+') do
    local low, kept = string.match(step, '^([^;]*);(.*)$')
    local best = tonumber(low)
    if x then
      for k in string.gmatch(kept, '[^,]+') do
        local v = tonumber(k)
        if v >= x and (not best or v < best) then best = v end
      end
    end
    x = best
  end
  if x == cur then return end
  if x then redis.call('ZADD', key, x, member) else redis.call('ZREM', key, member) end
end
