-- GET one account: a random id of BENCH_ACCOUNTS_FILE.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(here .. "common.lua")

common.by_id("/accounts/", "BENCH_ACCOUNTS_FILE", function() return "" end)

done = common.done
