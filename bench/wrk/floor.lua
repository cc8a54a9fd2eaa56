-- The floor: GET a trivial FastAPI endpoint (bench/floor_app.py). A static
-- request: wrk sends it without calling Lua per request.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(here .. "common.lua")

wrk.method = "GET"
wrk.path = common.env("BENCH_PATH", "/floor")
done = common.done
