-- PostEntry replayed: the same command (fixed commandId and idempotencyKey) sent
-- again and again; the first is applied, every later one is a replay (202,
-- Idempotent-Replayed: true) that writes nothing. A static request.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(here .. "common.lua")

local tenant = common.env("BENCH_TENANT")
local payload = '{"bookingDate":"2025-01-15","valueDate":"2025-01-15","currency":"AUD",'
  .. '"legs":[{"accountId":"' .. common.env("BENCH_ACCOUNT_A") .. '","direction":"CREDIT","amount":1.00},'
  .. '{"accountId":"' .. common.env("BENCH_ACCOUNT_B") .. '","direction":"DEBIT","amount":1.00}],'
  .. '"narrative":"bench replay"}'
local id = common.env("BENCH_REPLAY_ID")

wrk.method = "POST"
wrk.path = "/v1/tenants/" .. tenant .. "/commands"
wrk.headers = common.headers(common.env("BENCH_KEY"))
wrk.body = common.envelope(id, tenant, "PostEntry", payload, "bench-replay-" .. id)
done = common.done
