-- List accounts: a page of BENCH_PAGE_LIMIT at a random offset below
-- BENCH_ACCOUNTS_TOTAL.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(here .. "common.lua")

common.paged("/accounts", "BENCH_ACCOUNTS_TOTAL", "?limit=%d&offset=%d")

done = common.done
