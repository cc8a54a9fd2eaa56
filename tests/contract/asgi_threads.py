"""Serve an ASGI app with uvicorn on a free 127.0.0.1 port, in a thread of the test.

    with serve_in_thread(app) as base_url: ...

The deliberately broken variants (tests/contract/broken.py) are in-process apps, some
with a `mock_core` function patched for as long as the variant is in use: a thread of
this process is the only place they can be served from.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from turingcore_client.serving import free_port

START_TIMEOUT_S = 30.0


@contextmanager
def serve_in_thread(app: Any, *, lifespan: str = "on") -> Iterator[str]:
    """Serve `app`; yield its base URL; stop it (its lifespan shutdown run) at the end."""
    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        lifespan=lifespan,
        access_log=False,
        log_level="warning",
        loop="asyncio",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the app did not start on port {port}")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(START_TIMEOUT_S)
