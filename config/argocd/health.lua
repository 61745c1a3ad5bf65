-- Argo CD health check for networking.wharf.dev/ClusterNetworking.
--
-- wharf reports status the kstatus way: status.observedGeneration, and the
-- conditions Ready, Reconciling and Stalled, each with the generation it
-- describes. This script maps them to Argo CD health:
--   Healthy     wharf has observed the latest spec and Ready is True;
--   Degraded    Stalled is True: an error retrying will not fix (bad input,
--               a missing Secret...); the message says what;
--   Progressing anything else: not observed yet, or components rolling out
--               (the message of Reconciling, else of Ready).
local hs = { status = "Progressing", message = "Waiting for wharf to report status" }

if obj.status == nil then
  return hs
end

local generation = obj.metadata.generation
local observed = obj.status.observedGeneration
if generation ~= nil and (observed == nil or observed < generation) then
  hs.message = "Waiting for wharf to observe generation " .. string.format("%d", generation)
  return hs
end

local conditions = {}
if obj.status.conditions ~= nil then
  for _, c in ipairs(obj.status.conditions) do
    if c.type ~= nil then
      conditions[c.type] = c
    end
  end
end

-- current is false for a condition written for an older generation.
local function current(c)
  return generation == nil or c.observedGeneration == nil or c.observedGeneration >= generation
end

local stalled = conditions["Stalled"]
if stalled ~= nil and stalled.status == "True" and current(stalled) then
  hs.status = "Degraded"
  hs.message = stalled.message or stalled.reason or "Stalled"
  return hs
end

local ready = conditions["Ready"]
if ready ~= nil and ready.status == "True" and current(ready) then
  hs.status = "Healthy"
  hs.message = ready.message or "Ready"
  return hs
end

local reconciling = conditions["Reconciling"]
if reconciling ~= nil and reconciling.status == "True" and reconciling.message ~= nil and reconciling.message ~= "" then
  hs.message = reconciling.message
elseif ready ~= nil and ready.message ~= nil and ready.message ~= "" then
  hs.message = ready.message
end
return hs
