"""Seeded fault profiles: the mock misbehaves on purpose, and never at the ledger's cost.

A profile is named by a spec `NAME[:SEED][,PARAM=VALUE...]` (`drop-reply:7`,
`refuse:3,status=429,p=0.3`, `latency:1,dist=lognormal,median_ms=5,PostEntry.median_ms=20`).
It is in force for every tenant from the start (`mock-core serve --faults SPEC`,
`MOCK_CORE_FAULTS`), or for one tenant through the admin API
(`PUT /_mock/faults/{tenantId}`), which overrides the global one.

Every decision is a hash of (seed, profile name, the command's dedup key: its
idempotencyKey, else its commandId) and, where a key can be hit more than once, of
the attempt number of that key, never of arrival order or a shared random stream:
the same seed gives the same faults at the same commands however concurrency
reorders them. A key is hit at most `times` times (1 or 2), so a client with the
default retry policy (3 retries) always gets through.

Where each fault sits, so that the ledger stays exactly-once:
- before the gateway (nothing written): `refuse` (503 or 429 with Retry-After),
  `outage` (503 with Retry-After for every command in a window), `latency`;
- after the gateway answered (the command is committed; a retry with the same key
  replays it): `drop-reply` (the connection closes, no byte of the reply),
  `error-after-commit` (a 503, or with `mode=stall` the reply held back `stall_s`);
- on reads: `slow-reader` (the tenant's GET queries wait `ms`).
Only the command endpoint and the tenant's GET queries are touched; the admin,
health and metrics endpoints never are.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import random
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import orjson

from mock_core.errors import error_body

# Profiles and the parameters each takes, with their defaults (floats unless named).
PROFILES: Final[dict[str, dict[str, Any]]] = {
    "none": {},
    "drop-reply": {"p": 0.2, "times": 1},
    "error-after-commit": {"p": 0.2, "times": 1, "mode": "503", "retry_after": 0, "stall_s": 12.0},
    "refuse": {"p": 0.2, "times": 1, "status": "503", "retry_after": 1},
    "latency": {
        "dist": "lognormal",
        "ms": 5.0,
        "min_ms": 0.0,
        "max_ms": 10.0,
        "median_ms": 5.0,
        "sigma": 0.5,
    },
    "outage": {"seconds": 2.0, "after": 50, "every": 0.0},
    "slow-reader": {"p": 1.0, "ms": 200.0},
}
CHOICES: Final[dict[str, tuple[str, ...]]] = {
    "mode": ("503", "stall"),
    "status": ("503", "429", "mixed"),
    "dist": ("fixed", "uniform", "lognormal"),
}
WHOLE: Final = frozenset({"times", "retry_after", "after"})
COMMAND_TYPES: Final = (
    "CreateTenant",
    "UpsertProduct",
    "CreateCustomer",
    "OpenAccount",
    "PostEntry",
)
# Bounds, so that a profile can slow a client down but never wedge the mock.
TIMES_MAX: Final = 2  # faults per key: the default client's 3 retries always get through
DELAY_MS_MAX: Final = 10_000.0  # one latency or slow read
STALL_S_MAX: Final = 120.0
OUTAGE_S_MAX: Final = 60.0
OUTAGE_EVERY_S_MAX: Final = 3600.0
RETRY_AFTER_S_MAX: Final = 60
SPEC_CHARS_MAX: Final = 500
SEEN_KEYS_MAX: Final = 1_000_000  # attempt counts kept per profile (only keys it hits)

_SPEC = re.compile(r"^(?P<name>[a-z][a-z-]*)(?::(?P<seed>\d{1,18}))?(?P<params>(?:,[^,]*)*)$")
_PARAM = re.compile(r"^(?:(?P<type>[A-Za-z]+)\.)?(?P<name>[a-z_]+)=(?P<value>[^=]*)$")


class FaultSpecError(ValueError):
    """A profile spec that does not parse or names something unknown (a 400, or exit 2)."""


@dataclass(frozen=True, slots=True)
class FaultProfile:
    """A parsed profile: its name, seed and parameters (with per-command-type overrides)."""

    name: str
    seed: int = 0
    params: Mapping[str, Any] = field(default_factory=dict)
    by_type: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def spec(self) -> str:
        """The profile written back as a spec (parameters that differ from the defaults)."""
        parts = [f"{self.name}:{self.seed}"]
        defaults = PROFILES[self.name]
        parts += [f"{k}={v}" for k, v in self.params.items() if v != defaults[k]]
        for command_type, overrides in self.by_type.items():
            parts += [f"{command_type}.{k}={v}" for k, v in overrides.items()]
        return ",".join(parts)

    def param(self, name: str, command_type: str | None = None) -> Any:
        if command_type is not None:
            overrides = self.by_type.get(command_type)
            if overrides is not None and name in overrides:
                return overrides[name]
        return self.params[name]

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "seed": self.seed,
            "params": dict(self.params),
            "byCommandType": {k: dict(v) for k, v in self.by_type.items()},
            "spec": self.spec,
        }


def _value(profile: str, name: str, text: str) -> Any:
    if name in CHOICES:
        if text not in CHOICES[name]:
            raise FaultSpecError(f"{profile}: {name} must be one of {', '.join(CHOICES[name])}")
        return text
    try:
        number = int(text) if name in WHOLE else float(text)
    except ValueError:
        raise FaultSpecError(f"{profile}: {name}={text!r} is not a number") from None
    if not math.isfinite(number) or number < 0:
        raise FaultSpecError(f"{profile}: {name} must be a finite number >= 0")
    limits = {
        "p": 1.0,
        "times": TIMES_MAX,
        "retry_after": RETRY_AFTER_S_MAX,
        "stall_s": STALL_S_MAX,
        "seconds": OUTAGE_S_MAX,
        "sigma": 3.0,
        "every": OUTAGE_EVERY_S_MAX,
    }
    high = limits.get(name, DELAY_MS_MAX if name.endswith("_ms") or name == "ms" else None)
    if high is not None and number > high:
        raise FaultSpecError(f"{profile}: {name} must be at most {high}")
    if name == "times" and number < 1:
        raise FaultSpecError(f"{profile}: times must be 1 or {TIMES_MAX}")
    return number


def parse_spec(spec: str) -> FaultProfile:
    """Parse `NAME[:SEED][,PARAM=VALUE...]`; a `FaultSpecError` says what is wrong."""
    spec = spec.strip()
    if len(spec) > SPEC_CHARS_MAX:
        raise FaultSpecError(f"a fault profile spec is at most {SPEC_CHARS_MAX} characters")
    found = _SPEC.match(spec)
    if found is None:
        raise FaultSpecError(f"{spec!r} is not NAME[:SEED][,PARAM=VALUE...]")
    name = found["name"]
    if name not in PROFILES:
        raise FaultSpecError(f"unknown fault profile {name!r}; known: {', '.join(PROFILES)}")
    defaults = PROFILES[name]
    params = dict(defaults)
    by_type: dict[str, dict[str, Any]] = {}
    for part in found["params"].split(",")[1:]:
        item = _PARAM.match(part.strip())
        if item is None or item["name"] not in defaults:
            known = ", ".join(defaults) or "none"
            raise FaultSpecError(f"{name}: {part!r} is not a parameter (it takes {known})")
        value = _value(name, item["name"], item["value"])
        command_type = item["type"]
        if command_type is None:
            params[item["name"]] = value
        elif name != "latency" or command_type not in COMMAND_TYPES:
            raise FaultSpecError(
                f"{name}: {command_type}.{item['name']}: only latency takes per-command-type "
                f"parameters, for {', '.join(COMMAND_TYPES)}"
            )
        else:
            by_type.setdefault(command_type, {})[item["name"]] = value
    every = params.get("every", 0.0)
    if every and every < 2 * params["seconds"]:
        # Between two outages the clients that waited out the first must have as long
        # again to get through, or a repeating outage would never let them.
        raise FaultSpecError(f"{name}: every must be 0 (once) or at least twice seconds")
    return FaultProfile(name, int(found["seed"] or 0), params, by_type)


def _unit(profile: FaultProfile, key: str, what: str) -> float:
    """A number in [0, 1) that only (seed, profile, key, what) decide."""
    text = f"{profile.seed}|{profile.name}|{key}|{what}".encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big") / 2**64


@dataclass(frozen=True, slots=True)
class Fault:
    """What to do with one command or query: `kind` names it in the metrics."""

    kind: str
    delay_s: float = 0.0  # wait this long first (latency, slow read, stall)
    status: int = 0  # answer this instead (0: no reply of its own)
    retry_after: int | None = None
    drop: bool = False  # close the connection instead of replying

    def reply(self, profile: str) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        """The injected reply: the documented `Error` shape, and Retry-After if any."""
        code = "RATE_LIMITED" if self.status == 429 else "SERVICE_UNAVAILABLE"
        message = f"injected by the mock's fault profile {profile} ({self.kind})"
        body = error_body(code, message, {"faultProfile": profile, "faultKind": self.kind})
        headers = [(b"content-type", b"application/json")]
        if self.retry_after is not None:
            headers.append((b"retry-after", str(self.retry_after).encode()))
        return self.status, orjson.dumps(body), headers


class ActiveProfile:
    """A profile in force: its decisions and what it remembers (attempts, the outage)."""

    def __init__(self, profile: FaultProfile, clock: Callable[[], float] = time.monotonic) -> None:
        self.profile = profile
        self.clock = clock
        # (tenant, key) -> attempts so far, for the keys it hits. The decisions hash the
        # key alone (the same faults on any tenant); the count is per tenant, as keys are.
        self.seen: dict[tuple[str, str], int] = {}
        self.commands = 0
        self.outage_from: float | None = None
        self.injected: dict[str, int] = {}

    def _count(self, kind: str) -> None:
        self.injected[kind] = self.injected.get(kind, 0) + 1

    def _attempt(self, key: str, tenant: str) -> int | None:
        """The attempt number of a key the profile hits while it may still hit it."""
        profile = self.profile
        if _unit(profile, key, "hit") >= profile.params["p"]:
            return None
        attempt = self.seen.get((tenant, key), 0)
        if attempt >= profile.params["times"]:
            return None
        if len(self.seen) >= SEEN_KEYS_MAX:
            self.seen.clear()  # bounded memory; see docs/faults.md
        self.seen[(tenant, key)] = attempt + 1
        return attempt

    def before(self, key: str, command_type: str, tenant: str = "") -> Fault | None:
        """The fault before the gateway is called (nothing is written when it refuses)."""
        profile = self.profile
        name = profile.name
        if name == "refuse":
            attempt = self._attempt(key, tenant)
            if attempt is None:
                return None
            status = profile.params["status"]
            if status == "mixed":
                status = "429" if _unit(profile, key, f"status{attempt}") < 0.5 else "503"
            return self._hit(
                Fault(
                    f"refuse-{status}",
                    status=int(status),
                    retry_after=profile.params["retry_after"],
                )
            )
        if name == "latency":
            return self._hit(Fault("latency", delay_s=self._latency(key, command_type)))
        if name == "outage":
            return self._outage()
        return None

    def after(self, key: str, tenant: str = "") -> Fault | None:
        """The fault once the gateway answered (the command is committed or replayed)."""
        profile = self.profile
        if profile.name == "drop-reply":
            hit = self._attempt(key, tenant) is not None
            return self._hit(Fault("drop", drop=True)) if hit else None
        if profile.name == "error-after-commit":
            if self._attempt(key, tenant) is None:
                return None
            if profile.params["mode"] == "stall":
                return self._hit(Fault("stall-after-commit", delay_s=profile.params["stall_s"]))
            retry_after = profile.params["retry_after"]
            return self._hit(Fault("503-after-commit", status=503, retry_after=retry_after))
        return None

    def read(self, target: str) -> Fault | None:
        """The fault of one GET query of the tenant (`target`: path and query string)."""
        profile = self.profile
        if profile.name != "slow-reader" or _unit(profile, target, "read") >= profile.params["p"]:
            return None
        return self._hit(Fault("slow-read", delay_s=profile.params["ms"] / 1000))

    def _hit(self, fault: Fault) -> Fault:
        self._count(fault.kind)
        return fault

    def _latency(self, key: str, command_type: str) -> float:
        profile = self.profile

        def param(name: str) -> float:
            return float(profile.param(name, command_type))

        # A generator seeded from the key alone: the same key waits the same, every time.
        draw = random.Random(int(_unit(profile, key, "latency") * 2**53))
        dist = profile.param("dist", command_type)
        if dist == "fixed":
            ms = param("ms")
        elif dist == "uniform":
            low, high = sorted((param("min_ms"), param("max_ms")))
            ms = draw.uniform(low, high)
        else:
            ms = draw.lognormvariate(math.log(max(param("median_ms"), 1e-3)), param("sigma"))
        return min(ms, DELAY_MS_MAX) / 1000

    def _outage(self) -> Fault | None:
        """Every command in the outage's window is refused with 503 and Retry-After."""
        params = self.profile.params
        self.commands += 1
        now = self.clock()
        if self.outage_from is None:
            if self.commands < params["after"]:
                return None
            self.outage_from = now
        elapsed = now - self.outage_from
        seconds, every = params["seconds"], params["every"]
        if every > 0:
            elapsed %= max(every, seconds)
        if elapsed >= seconds:
            return None
        retry_after = max(1, math.ceil(seconds - elapsed))
        return self._hit(Fault("outage", status=503, retry_after=retry_after))

    def as_json(self) -> dict[str, Any]:
        return {"profile": self.profile.as_json(), "injected": dict(sorted(self.injected.items()))}


class FaultTable:
    """The profiles in force: one for every tenant (from the settings) and per tenant."""

    def __init__(self, default: FaultProfile | None = None) -> None:
        self.default = ActiveProfile(default) if default and default.name != "none" else None
        self.tenants: dict[str, ActiveProfile] = {}
        self.on_fault: Callable[[str, str], None] | None = None  # (profile name, kind)

    @property
    def active(self) -> bool:
        return self.default is not None or bool(self.tenants)

    def for_tenant(self, tenant_id: str) -> ActiveProfile | None:
        found = self.tenants.get(tenant_id)
        if found is None:
            return self.default
        return None if found.profile.name == "none" else found

    def set(self, tenant_id: str, profile: FaultProfile) -> ActiveProfile:
        """Put `profile` in force for the tenant (afresh: attempts and counts from zero)."""
        active = self.tenants[tenant_id] = ActiveProfile(profile)
        return active

    def clear(self, tenant_id: str) -> ActiveProfile | None:
        return self.tenants.pop(tenant_id, None)

    def note(self, active: ActiveProfile, fault: Fault | None) -> Fault | None:
        if fault is not None and self.on_fault is not None:
            self.on_fault(active.profile.name, fault.kind)
        return fault


async def wait(fault: Fault) -> None:
    """Sleep a fault's delay, if it has one."""
    if fault.delay_s > 0:
        await asyncio.sleep(fault.delay_s)


async def drop_connection(send: Any) -> bool:
    """Close the client's connection without a byte of the reply. Under uvicorn the
    `send` callable is bound to the request's cycle, which holds the transport; the
    cycle learns of the close (`disconnected`) before the endpoint returns, so the
    server adds no reply of its own. False when there is no transport to close (an
    in-process transport): the caller then fails the request another way."""
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None or not hasattr(transport, "close"):
        return False
    transport.close()
    for _ in range(20):  # connection_lost runs on the loop's next turns
        if getattr(cycle, "disconnected", True):
            break
        await asyncio.sleep(0)
    return True
