--[[
  A patient's history list (shared by applyBatch-1.lua and applyPatient-1.lua; put in
  place of a script's `--#include history.lua` line, like alerts.lua). The op "hist"
  keeps the first `keep` items of the list and appends `items` (event JSONs joined by
  the record separator, '\30'; JSON escapes that character, so it never occurs in one):
  an event after the last is `keep` = the list's length and one item; a late event, a
  merge or the first write of a patient stored in the old single-key form rewrite from
  `keep` (0 = the whole list).
]]

-- Why a history op cannot apply (nil when it can), and the list's length (for historyWrite).
local function historyProblem(key, keep)
  local k = tonumber(keep)
  if not k or k < 0 or k % 1 ~= 0 then return 'hist keeps a non-count', 0 end
  if k == 0 then return nil, 0 end
  local len = redis.call('LLEN', key)
  if len < k then return 'hist keeps more events than the history holds', len end
  return nil, len
end

-- Keeps the first `keep` items of the list (`len` long, as historyProblem read it), appends `items`.
local function historyWrite(key, keep, items, len)
  local k = tonumber(keep)
  if k == 0 then
    redis.call('DEL', key)
  elseif len > k then
    redis.call('LTRIM', key, 0, k - 1)
  end
  local chunk = {}
  for item in string.gmatch(items, '[^\30]+') do
    chunk[#chunk + 1] = item
    if #chunk == 500 then redis.call('RPUSH', key, unpack(chunk)); chunk = {} end
  end
  if #chunk > 0 then redis.call('RPUSH', key, unpack(chunk)) end
end
