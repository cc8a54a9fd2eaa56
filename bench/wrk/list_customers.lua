-- List customers: a page of BENCH_PAGE_LIMIT at a random offset below
-- BENCH_CUSTOMERS_TOTAL.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(here .. "common.lua")

common.paged("/customers", "BENCH_CUSTOMERS_TOTAL", "?limit=%d&offset=%d")

done = common.done
