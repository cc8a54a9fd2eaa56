-- The tenant's stream: a page of BENCH_PAGE_LIMIT events after a random sequence
-- below BENCH_EVENTS_TOTAL.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(here .. "common.lua")

common.paged("/events", "BENCH_EVENTS_TOTAL", "?after=%d&limit=%d", true)

done = common.done
