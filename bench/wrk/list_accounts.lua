-- List accounts: a page of BENCH_PAGE_LIMIT at a random offset below
-- BENCH_ACCOUNTS_TOTAL.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(here .. "common.lua")

local path, headers, limit, last

function init(args)
  common.seed()
  path = common.tenant_path("/accounts")
  headers = common.headers(common.env("BENCH_KEY"))
  limit = common.number("BENCH_PAGE_LIMIT", 50)
  last = math.max(0, common.number("BENCH_ACCOUNTS_TOTAL") - limit)
end

function request()
  local query = string.format("?limit=%d&offset=%d", limit, math.random(0, last))
  return wrk.format("GET", path .. query, headers)
end

done = common.done
