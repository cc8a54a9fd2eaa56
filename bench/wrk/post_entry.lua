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
  local src, dst = a, b
  if math.random() < 0.5 then src, dst = b, a end
  local amount = common.money(math.random(1, 10000))
  local payload = '{"bookingDate":"2025-01-15","valueDate":"2025-01-15","currency":"AUD",'
    .. '"legs":[{"accountId":"' .. src .. '","direction":"CREDIT","amount":' .. amount .. '},'
    .. '{"accountId":"' .. dst .. '","direction":"DEBIT","amount":' .. amount .. '}],'
    .. '"narrative":"bench transfer"}'
  return common.envelope(uuid(), tenant, "PostEntry", payload)
end)

done = common.done
