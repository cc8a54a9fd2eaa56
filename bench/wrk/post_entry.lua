-- PostEntry: random transfers between two accounts, a fresh commandId each time.
-- BENCH_TENANT, BENCH_KEY, BENCH_ACCOUNT_A, BENCH_ACCOUNT_B; BENCH_PATH overrides
-- the path (the floor app's POST /floor/commands takes the same bodies).
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(here .. "common.lua")

local a, b

common.commands("/commands", function()
  a = common.env("BENCH_ACCOUNT_A")
  b = common.env("BENCH_ACCOUNT_B")
end, function(uuid, tenant)
  return common.envelope(uuid(), tenant, "PostEntry", common.transfer(a, b))
end)

done = common.done
