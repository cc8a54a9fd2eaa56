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
  local tenant = row[1]
  local body = common.envelope(uuid(), tenant, "PostEntry", common.transfer(row[2], row[3]))
  return wrk.format("POST", "/v1/tenants/" .. tenant .. "/commands", headers, body)
end

done = common.done
