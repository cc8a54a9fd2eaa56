"""Lost replies: the mock commits, the reply never reaches the twin, the twin retries.

`twin run` (the CLI, as a subprocess, with its inspection) sends the steady-state
scenario through `LossyProxy` (tests/faults/proxy.py), which loses the reply
to a deterministic fifth of the commands (a twentieth twice) AFTER the mock has
answered, by closing the connection or by cutting the reply in half. The
twin's client retries with the same commandId and idempotency key. Then:

- the run passes its own invariants and its state digest equals that of a
  fault-free run on a fresh store;
- every command was applied exactly once: the events caused by each accepted
  command are exactly its reply's eventIds, one EntryPosted per accepted
  PostEntry key, no other events;
- the twin saw a replay (`Idempotent-Replayed: true`) for every command whose
  accepted reply was lost, and for no other;
- the chain recomputes.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.faults.conftest import (
    TEST_SIZE,
    Http,
    Servers,
    all_events,
    by_causation,
    chain_problems,
    twin_run,
)
from tests.faults.proxy import DropPolicy, LossyProxy
from tests.serving import MockServer


def run_lost_replies(
    server: MockServer,
    output: Path,
    *,
    customers: int,
    days: int,
    seed: int,
    reference: str | None,
    policy: DropPolicy | None = None,
) -> dict[str, Any]:
    """Run the twin through the proxy against the running `server`; check; report."""
    policy = policy or DropPolicy()
    with LossyProxy(server.port, policy) as proxy:
        code, summary, out = twin_run(proxy.url, output, customers=customers, days=days, seed=seed)
    failures: list[str] = []
    if code != 0 or not summary.get("ok"):
        if summary:
            failed = [i["name"] for i in summary.get("invariants", []) if i["status"] == "FAIL"]
            failures.append(
                f"twin run exited {code}: invariants failed {failed}, "
                f"{summary.get('unexpected_total')} unexpected outcomes, "
                f"by outcome {summary.get('counts', {}).get('by_outcome')}"
            )
        else:
            failures.append(f"twin run exited {code}: {out[-2500:]}")
    digest = summary.get("state_digest")
    if reference is not None and digest != reference:
        failures.append(f"state digest {digest} != fault-free run's {reference}")

    records = [json.loads(line) for line in (output / "commands.jsonl").read_text().splitlines()]
    by_key = {r["key"]: r for r in records}
    lost = proxy.dropped()
    lost_keys = {e["key"] for e in lost}
    lost_accepted = {e["key"] for e in lost if e["status"] == 202}
    for key in sorted(lost_accepted):
        record = by_key.get(key)
        if record is None or record["status"] != 202 or not record["replayed"]:
            failures.append(f"{key}: its 202 was lost, but the twin did not see a replay")
    for key in sorted(lost_keys - lost_accepted):
        record = by_key.get(key)
        first = next(e for e in lost if e["key"] == key)
        if record is None or record["status"] != first["status"]:
            failures.append(
                f"{key}: lost {first['status']}, retried to {record and record['status']}"
            )
    for key, record in by_key.items():
        if record["replayed"] and key not in lost_accepted:
            failures.append(f"{key}: a replay, yet none of its replies was lost")

    http_ = Http(server.url)  # straight to the mock, past the proxy
    events = all_events(http_, summary.get("tenant", "CU_DIGITAL"))
    http_.close()
    failures += [f"chain: {p}" for p in chain_problems(events)]
    caused = by_causation(events)
    applied = 0
    entry_keys = 0
    for record in records:
        if record["status"] != 202:
            continue
        reply = record["reply"]
        got = caused.get(reply["commandId"], [])
        applied += len(got)
        if [e["eventId"] for e in got] != reply["eventIds"]:
            failures.append(
                f"{record['key']}: {len(got)} events, reply has {len(reply['eventIds'])}"
            )
        if record["type"] == "PostEntry":
            entry_keys += 1
            posted = sum(1 for e in got if e["eventType"] == "EntryPosted")
            if posted != 1:
                failures.append(f"{record['key']}: {posted} EntryPosted")
    if applied != len(events):
        failures.append(f"{len(events)} events, {applied} caused by accepted commands")
    attempts = Counter(int(r.get("attempts") or 1) for r in records)
    return {
        "customers": customers,
        "days": days,
        "seed": seed,
        "commands": len(records),
        "replies_lost": len(lost),
        "replies_lost_by_mode": dict(Counter(e["action"] for e in lost)),
        "keys_lost_twice": sum(1 for k in lost_keys if policy.drops(k) == 2),
        "accepted_replies_lost": len(lost_accepted),
        "replays_seen_by_twin": sum(1 for r in records if r["replayed"]),
        "post_entry_keys": entry_keys,
        "events": len(events),
        "twin_attempts_histogram": {str(k): v for k, v in sorted(attempts.items())},
        "proxy_counts": dict(proxy.counts),
        "twin_wall_s": summary.get("wall_s"),
        "state_digest": digest,
        "reference_digest": reference,
        "failures": failures[:50],
    }


def test_lost_replies_are_retried_into_exactly_one_application(
    servers: Servers, tmp_path: Path, test_size_digest: str
) -> None:
    server = servers.start(tmp_path / "lossy.db")
    report = run_lost_replies(server, tmp_path / "run", **TEST_SIZE, reference=test_size_digest)
    print(report)
    assert report["accepted_replies_lost"] >= 30
    assert report["keys_lost_twice"] >= 3
    assert report["replies_lost_by_mode"].get("truncate", 0) >= 5
    assert report["failures"] == [], "\n".join(report["failures"])


class _Echo(BaseHTTPRequestHandler):
    """Answers every request with its own body (keep-alive; idle connections close fast)."""

    protocol_version = "HTTP/1.1"
    timeout = 0.3  # an idle kept-alive connection is closed, as uvicorn does after 5 s

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(202)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST

    def log_message(self, *args: Any) -> None:
        pass


def test_the_proxy_loses_exactly_what_its_policy_says() -> None:
    policy = DropPolicy(fraction=0.5, twice_fraction=0.1, truncate_fraction=0.5, salt="self-test")
    keys = [f"k{n}" for n in range(40)]
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=upstream.serve_forever, daemon=True)
    thread.start()
    try:
        with LossyProxy(upstream.server_address[1], policy) as proxy:
            conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=5)
            outcomes: Counter[str] = Counter()
            for key in keys:
                body = json.dumps({"idempotencyKey": key}).encode()
                for attempt in range(4):
                    try:
                        conn.request("POST", "/v1/tenants/T/commands", body)
                        reply = conn.getresponse()
                        assert reply.read() == body and reply.status == 202
                        outcomes["through"] += 1
                        assert attempt == policy.drops(key), key
                        break
                    except (http.client.HTTPException, OSError):
                        conn.close()
                        outcomes["lost"] += 1
                conn.request("GET", "/v1/anything")  # not a command: always forwarded
                assert conn.getresponse().read() == b""
                if key == "k20":
                    time.sleep(0.6)  # the upstream drops the idle connection; the proxy copes
            conn.close()
        assert outcomes["through"] == len(keys)
        assert outcomes["lost"] == sum(policy.drops(k) for k in keys) == len(proxy.dropped())
        assert {e["action"] for e in proxy.dropped()} == {"close", "truncate"}
        assert {e["key"] for e in proxy.dropped()} == {k for k in keys if policy.drops(k)}
    finally:
        upstream.shutdown()
        upstream.server_close()
