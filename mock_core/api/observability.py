"""Metrics and the access log: one JSON line per request, Prometheus counters."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator
from typing import Any

import orjson
from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

access_log = logging.getLogger("mock_core.access")


class _Counts:
    """A labelled counter kept as plain ints, read when `/metrics` is scraped.

    A prometheus_client Counter takes a lock on every increment (a third of a
    microsecond), and a PostEntry counted six: the command, its three events and
    the commit twice. These are incremented on the event loop's thread only (the
    command endpoint and the group committer run there).
    """

    def __init__(self, name: str, documentation: str, labels: tuple[str, ...] = ()) -> None:
        self.name = name
        self.documentation = documentation
        self.labels = labels
        self.values: dict[tuple[str, ...], int] = {}

    def inc(self, key: tuple[str, ...] = (), amount: int = 1) -> None:
        self.values[key] = self.values.get(key, 0) + amount

    def family(self) -> CounterMetricFamily:
        family = CounterMetricFamily(self.name, self.documentation, labels=self.labels)
        values = self.values or ({} if self.labels else {(): 0})  # an unlabelled one shows 0
        for key, value in sorted(values.items()):
            family.add_metric(list(key), value)
        return family


class _CountsCollector(Collector):
    def __init__(self, counts: list[_Counts]) -> None:
        self.counts = counts

    def collect(self) -> Iterator[Metric]:
        for counts in self.counts:
            yield counts.family()


class Metrics:
    """The mock's Prometheus metrics, in a registry of its own (one per app)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.latency = Histogram(
            "mock_core_command_latency_seconds",
            "Time to apply a command, by type",
            ["command_type"],
            buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0),
            registry=self.registry,
        )
        self.commands = _Counts(
            "mock_core_commands",
            "Commands received, by type and outcome (ACCEPTED, REPLAYED or the error code)",
            ("command_type", "outcome"),
        )
        self.events = _Counts(
            "mock_core_events_appended", "Events appended to the store, by type", ("event_type",)
        )
        # Commands per commit = mock_core_commands_total / mock_core_commits_total.
        self.commits = _Counts(
            "mock_core_commits", "Group commits (one transaction, one durable commit each)"
        )
        self.commit_tenants = _Counts(
            "mock_core_commit_tenants", "Tenants per group commit, summed over the commits"
        )
        self.ahead = _Counts(
            "mock_core_commits_ahead",
            "PostgreSQL group commits applied ahead of their reads while the one before "
            "committed, by outcome: COMMITTED, or APPLIED_AGAIN (what they assumed did not "
            "hold, and they were applied again the usual way)",
            ("outcome",),
        )
        self.faults = _Counts(
            "mock_core_faults",
            "Faults injected by a fault profile (docs/faults.md), by profile and kind",
            ("profile", "kind"),
        )
        self.registry.register(
            _CountsCollector(
                [
                    self.commands,
                    self.events,
                    self.commits,
                    self.commit_tenants,
                    self.ahead,
                    self.faults,
                ]
            )
        )
        self._latency_children: dict[str, Any] = {}

    def count(self, command_type: str, outcome: str) -> None:
        """Count one command by type and outcome."""
        self.commands.inc((command_type, outcome))

    def observe_command(self, command_type: str, seconds: float, outcome: Any) -> None:
        """Record an applied or replayed command: its latency, its outcome, its events."""
        latency = self._latency_children.get(command_type)
        if latency is None:
            latency = self._latency_children[command_type] = self.latency.labels(command_type)
        latency.observe(seconds)
        self.commands.inc((command_type, "REPLAYED" if outcome.replayed else "ACCEPTED"))
        events = self.events.values
        for event_type in outcome.event_types:
            key = (event_type,)
            events[key] = events.get(key, 0) + 1

    def count_fault(self, profile: str, kind: str) -> None:
        """Count one injected fault by its profile's name and its kind."""
        self.faults.inc((profile, kind))

    def observe_batch(self, tenants: int) -> None:
        """Count one group commit and the tenants it held."""
        self.commits.inc()
        self.commit_tenants.inc((), tenants)

    def observe_ahead(self, committed: bool) -> None:
        """Count one group commit applied ahead, by whether it committed as applied."""
        self.ahead.inc(("COMMITTED" if committed else "APPLIED_AGAIN",))


class LineHandler(logging.StreamHandler):
    """The access log's own handler: each line as it is, on standard error."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)
        self.setFormatter(logging.Formatter("%(message)s"))

    def write_line(self, line: str) -> bool:
        """Write `line` as `emit` would its record, without making one (a LogRecord
        and the logger's call chain cost ~8 us, as much as a read served ahead of the
        framework spends on its query); False if the write failed."""
        self.acquire()
        try:
            self.stream.write(line + self.terminator)
            self.stream.flush()
        except Exception:
            return False
        finally:
            self.release()
        return True


def configure_access_log(enabled: bool) -> None:
    access_log.propagate = False
    access_log.setLevel(logging.INFO if enabled else logging.WARNING)
    if not access_log.handlers:
        access_log.addHandler(LineHandler())


def _direct(logger: logging.Logger) -> LineHandler | None:
    """The logger's handler when it is the kit's own and all: nothing else would see a
    record (no other handler, no filter, no propagation), so the line may be written
    straight to its stream. Anything configured beside it gets records as usual."""
    handlers = logger.handlers
    if len(handlers) != 1 or logger.filters or logger.propagate:
        return None
    handler = handlers[0]
    if type(handler) is not LineHandler or handler.filters or handler.level > logging.INFO:
        return None
    return handler


class AccessLogMiddleware:
    """Writes one structured line per HTTP request (pure ASGI, so it costs little)."""

    def __init__(self, app: ASGIApp, enabled: bool = True) -> None:
        self.app = app
        self.enabled = enabled

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.enabled:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        state: dict[str, Any] = scope.setdefault("state", {})
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            path_params = scope.get("path_params") or {}
            log_access(scope, status, started, path_params.get("tenant_id"), state)


def log_access(
    scope: Scope, status: int, started: float, tenant: str | None, facts: dict[str, Any]
) -> None:
    """Write the request's access log line (JSON), if the access log is on."""
    if access_log.isEnabledFor(logging.INFO):
        line = orjson.dumps(
            {
                "ts": time.time(),
                "method": scope["method"],
                "path": scope["path"],
                "status": status,
                "tenant": tenant,
                "commandType": facts.get("command_type"),
                "outcome": facts.get("outcome"),
                "latencyMs": round((time.perf_counter() - started) * 1000, 3),
            }
        ).decode()
        handler = _direct(access_log)
        if handler is None or not handler.write_line(line):
            access_log.info(line)  # (a failed write: logging reports it its own way)
