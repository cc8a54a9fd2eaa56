"""The floor: the most a FastAPI endpoint can serve on this machine.

Served by bench/run.py under the mock's own server settings (uvicorn, one worker,
loop and http "auto" = uvloop and httptools when installed, no access log) and
loaded by the same wrk scripts in the same run, so that every figure of the mock
is also a ratio to it.

    python -m uvicorn bench.floor_app:app --loop auto --http auto --no-access-log
"""

from __future__ import annotations

from fastapi import FastAPI, Request, Response

app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

ACCEPTED = b'{"status":"ACCEPTED"}'


@app.get("/floor")
async def floor() -> dict[str, str]:
    """A bare endpoint returning a constant (through FastAPI's JSON response)."""
    return {"status": "ok"}


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/floor/commands", status_code=202)
async def floor_commands(request: Request) -> Response:
    """The POST floor: read the body the PostEntry script sends, reply a constant 202."""
    await request.body()
    return Response(ACCEPTED, 202, media_type="application/json")
