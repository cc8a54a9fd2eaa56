-- PostEntry across several tenants: each request picks a tenant at random and moves
-- money between its two accounts. BENCH_TENANTS_FILE holds one "tenant accountA
-- accountB" line per tenant (bench/tenants.py writes it); BENCH_KEY is a platform key.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(here .. "common.lua")

local rows, headers, uuid

function init(args)
  common.seed()
  headers = common.headers(common.env("BENCH_KEY"))
  uuid = common.uuid_factory()
  rows = {}
  for _, line in ipairs(common.lines(common.env("BENCH_TENANTS_FILE"))) do
    rows[#rows + 1] = { line:match("^(%S+) (%S+) (%S+)$") }
  end
end

function request()
  local row = common.pick(rows)
  local tenant, src, dst = row[1], row[2], row[3]
  if math.random() < 0.5 then src, dst = dst, src end
  local amount = common.money(math.random(1, 10000))
  local payload = '{"bookingDate":"2025-01-15","valueDate":"2025-01-15","currency":"AUD",'
    .. '"legs":[{"accountId":"' .. src .. '","direction":"CREDIT","amount":' .. amount .. '},'
    .. '{"accountId":"' .. dst .. '","direction":"DEBIT","amount":' .. amount .. '}],'
    .. '"narrative":"bench transfer"}'
  local body = common.envelope(uuid(), tenant, "PostEntry", payload)
  return wrk.format("POST", "/v1/tenants/" .. tenant .. "/commands", headers, body)
end

done = common.done
