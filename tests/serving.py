"""One way for tests to run a `mock-core serve` process: the kit's.

    with served_mock(["--database-url", url]) as base_url: ...
    with served_mock(args, executable=venv / "mock-core") as base_url: ...

See `turingcore_client.serving`: a free port on 127.0.0.1, a wait for `ready_path`
(failing with the server's log if it exits first), TERM then KILL at the end.
"""

from __future__ import annotations

from turingcore_client.serving import free_port, served_mock

__all__ = ["free_port", "served_mock"]
