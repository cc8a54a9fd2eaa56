-- GET one account: a random id of BENCH_ACCOUNTS_FILE.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(here .. "common.lua")

local prefix, headers, accounts

function init(args)
  common.seed()
  prefix = common.tenant_path("/accounts/")
  headers = common.headers(common.env("BENCH_KEY"))
  accounts = common.lines(common.env("BENCH_ACCOUNTS_FILE"))
end

function request()
  return wrk.format("GET", prefix .. common.pick(accounts), headers)
end

done = common.done
