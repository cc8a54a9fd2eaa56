-- The tenant's stream: a page of BENCH_PAGE_LIMIT events after a random sequence
-- below BENCH_EVENTS_TOTAL.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(here .. "common.lua")

local path, headers, limit, last

function init(args)
  common.seed()
  path = common.tenant_path("/events")
  headers = common.headers(common.env("BENCH_KEY"))
  limit = common.number("BENCH_PAGE_LIMIT", 50)
  last = math.max(0, common.number("BENCH_EVENTS_TOTAL") - limit)
end

function request()
  local query = string.format("?after=%d&limit=%d", math.random(0, last), limit)
  return wrk.format("GET", path .. query, headers)
end

done = common.done
