-- One account's events: the first page (BENCH_PAGE_LIMIT) of a random account of
-- BENCH_ACCOUNTS_FILE.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(here .. "common.lua")

local prefix, headers, accounts, suffix

function init(args)
  common.seed()
  prefix = common.tenant_path("/accounts/")
  headers = common.headers(common.env("BENCH_KEY"))
  accounts = common.lines(common.env("BENCH_ACCOUNTS_FILE"))
  suffix = string.format("/events?limit=%d", common.number("BENCH_PAGE_LIMIT", 50))
end

function request()
  return wrk.format("GET", prefix .. common.pick(accounts) .. suffix, headers)
end

done = common.done
