"""Concurrency: 32 clients race conflicting transfers on the same few accounts.

A served mock (SQLite, group commit) gets one tenant with a handful of member
accounts (100.00 each, overdraft limit 50.00). 32 threads, each on its own
keep-alive connection, send transfers between random pairs (and triples) of
those accounts, most of them too large for the balances they race for. Every
few rounds all 32 meet at a barrier and send the SAME command at once: either
one idempotency key under 32 different commandIds, or one commandId without a
key, 32 times. A round is not alone on the server: a client whose copy was
answered goes on with its next transfer while slower copies are still on their
way. So a copy may be refused (a refusal writes nothing, not even its key) and
a later copy, after other transfers moved the balance, applied: the server log
of one such round read 15 refusals, three other clients' transfers, then the
application and its replays in the same batch. Then, through the API only:

- no overdraft: every balance, final and intermediate (each
  AccountBalanceUpdated), stays at or above -overdraftLimit;
- no lost update: each account's final balance equals its opening balance plus
  the fold of the legs of the accepted commands (one application per key), and
  equals the fold of its own event stream, where every AccountBalanceUpdated
  carries the previous balance plus its change;
- a linear chain: sequences 1..N, prevHash links, hashes recompute; the
  tenant's balances sum to zero;
- every first 202 has exactly one EntryPosted (its eventIds, in order, are the
  events it caused); replays return that reply unchanged; one key, one application;
- no copy sent after its command's application was answered is refused: it must
  replay;
- every 422 is OVERDRAFT_LIMIT_EXCEEDED, caused no event (but those of the same
  commandId's later application), and was decided on a balance its account
  really had: the refused balance less the command's change on that account is
  the opening balance or one an AccountBalanceUpdated recorded.
"""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from tests.faults.conftest import (
    Http,
    Servers,
    accept,
    account_events,
    all_accounts,
    all_events,
    by_causation,
    chain_problems,
    customer_payload,
    make_envelope,
    minor,
    tenant_payload,
)

TENANT = "FAULT_RACE"
PRODUCT = "RACE_DEPOSIT"
OPENING_CENTS = 10_000
OVERDRAFT_CENTS = 5_000
IN_FLIGHT_RETRIES = 100


def setup_race(base_url: str, accounts: int, tenant: str = TENANT) -> list[str]:
    """The tenant, one product, `accounts` members with an account of 100.00 each."""
    http_ = Http(base_url)
    accept(http_.command(tenant, "CreateTenant", tenant_payload(tenant)))
    product = {
        "productCode": PRODUCT,
        "name": "Race deposit",
        "productType": "DEPOSIT",
        "interest": {"rate": 0.0},
        "constraints": {
            "minBalance": 0,
            "allowOverdraft": True,
            "overdraftLimit": OVERDRAFT_CENTS / 100,
        },
    }
    accept(http_.command(tenant, "UpsertProduct", product))
    ids = []
    for n in range(accounts):
        customer = accept(http_.command(tenant, "CreateCustomer", customer_payload(n, "race")))
        opened = accept(
            http_.command(
                tenant,
                "OpenAccount",
                {
                    "customerId": customer["result"]["customerId"],
                    "productCode": PRODUCT,
                    "currency": "AUD",
                    "initialDeposit": OPENING_CENTS / 100,
                },
            )
        )
        ids.append(opened["result"]["accountId"])
    http_.close()
    return ids


def transfer(rng: random.Random, accounts: list[str], cents_max: int = 12_000) -> dict[str, Any]:
    """A transfer between two (or from one to two) of the accounts, often too big."""
    if len(accounts) >= 3 and rng.random() < 0.2:
        src, a, b = rng.sample(accounts, 3)
        x, y = rng.randint(1, cents_max // 2), rng.randint(1, cents_max // 2)
        legs = [(src, "CREDIT", x + y), (a, "DEBIT", x), (b, "DEBIT", y)]
    else:
        src, dst = rng.sample(accounts, 2)
        cents = rng.randint(1, cents_max)
        legs = [(src, "CREDIT", cents), (dst, "DEBIT", cents)]
    return {
        "bookingDate": "2025-01-15",
        "valueDate": "2025-01-15",
        "currency": "AUD",
        "legs": [{"accountId": i, "direction": d, "amount": c / 100} for i, d, c in legs],
        "narrative": "race",
    }


def run_race(
    base_url: str,
    *,
    clients: int = 32,
    transfers: int = 40,
    accounts: int = 4,
    dup_every: int = 8,
    seed: int = 7,
    tenant: str = TENANT,
) -> dict[str, Any]:
    """Set up, race, check; returns the measurements and `failures` (empty when all pass)."""
    ids = setup_race(base_url, accounts, tenant)
    rng = random.Random(seed)
    rounds = transfers // dup_every
    # Round r: every client sends the same command at once. Even rounds: one key, new
    # commandIds. Odd rounds: no key, one commandId (the commandId is the key). Small
    # amounts, so that most rounds apply (a refused one is refused for every copy).
    dups = [
        (f"race:dup:{r}" if r % 2 == 0 else None, str(uuid.uuid4()), transfer(rng, ids, 500))
        for r in range(rounds)
    ]
    barrier = threading.Barrier(clients, timeout=120)
    records: list[list[dict[str, Any]]] = [[] for _ in range(clients)]
    errors: list[BaseException] = []
    in_flight = Counter[str]()

    def client(n: int) -> None:
        crng = random.Random(seed * 1_000 + n)
        http_ = Http(base_url)
        try:
            for i in range(transfers):
                if i % dup_every == dup_every - 1 and i // dup_every < rounds:
                    key, shared_id, payload = dups[i // dup_every]
                    command_id = str(uuid.uuid4()) if key else shared_id
                    barrier.wait()
                else:
                    key, command_id = f"race:{n}:{i}", str(uuid.uuid4())
                    payload = transfer(crng, ids)
                body = json.dumps(
                    make_envelope(tenant, "PostEntry", payload, key=key, command_id=command_id)
                ).encode()
                sent = time.perf_counter()
                for _ in range(IN_FLIGHT_RETRIES):
                    status, headers, data = http_.request(
                        "POST", f"/v1/tenants/{tenant}/commands", body
                    )
                    if status == 409 and b"COMMAND_IN_FLIGHT" in data:
                        in_flight[str(n)] += 1
                        time.sleep(0.002)
                        continue
                    break
                records[n].append(
                    {
                        "key": key or command_id,
                        "commandId": command_id,
                        "payload": payload,
                        "status": status,
                        "replayed": headers.get("idempotent-replayed") == "true",
                        "body": json.loads(data) if data else {},
                        "sent": sent,
                        "received": time.perf_counter(),
                    }
                )
        except BaseException as exc:
            errors.append(exc)
            barrier.abort()
        finally:
            http_.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    wall = time.perf_counter() - started
    if errors:
        raise errors[0]
    flat = [r for per in records for r in per]
    failures = check_race(base_url, tenant, ids, flat)
    statuses = Counter(r["status"] for r in flat)
    return {
        "clients": clients,
        "transfers_per_client": transfers,
        "accounts": accounts,
        "requests": len(flat),
        "same_command_rounds": rounds,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "accepted_first": sum(1 for r in flat if r["status"] == 202 and not r["replayed"]),
        "replayed": sum(1 for r in flat if r["replayed"]),
        "in_flight_409_retries": sum(in_flight.values()),
        "wall_s": round(wall, 2),
        "requests_per_s": round(len(flat) / wall, 1),
        "failures": failures,
    }


def check_race(base_url: str, tenant: str, ids: list[str], flat: list[dict[str, Any]]) -> list[str]:
    failures: list[str] = []
    for r in flat:
        if r["status"] == 422 and r["body"].get("invariant") != "OVERDRAFT_LIMIT_EXCEEDED":
            failures.append(f"{r['key']}: 422 {r['body'].get('invariant')}")
        elif r["status"] not in (202, 422):
            failures.append(f"{r['key']}: {r['status']} {r['body']}")
    http_ = Http(base_url)
    events = all_events(http_, tenant)
    accounts = {a["accountId"]: a for a in all_accounts(http_, tenant)}
    streams = {i: account_events(http_, tenant, i) for i in ids}
    head = http_.get(f"/tenants/{tenant}")
    http_.close()
    failures += [f"chain: {p}" for p in chain_problems(events)]
    if head["lastSequence"] != len(events):
        failures.append(f"lastSequence {head['lastSequence']} != {len(events)} events")
    caused = by_causation(events)

    # One application per key; replays repeat the first reply.
    by_key: dict[str, list[dict[str, Any]]] = {}
    for r in flat:
        by_key.setdefault(r["key"], []).append(r)
    applied: list[dict[str, Any]] = []
    for key, recs in by_key.items():
        first = [r for r in recs if r["status"] == 202 and not r["replayed"]]
        replays = [r for r in recs if r["replayed"]]
        if len(first) > 1:
            failures.append(f"{key}: applied {len(first)} times")
        if replays and not first:
            failures.append(f"{key}: replayed but never applied")
        if first:
            applied.append(first[0])
            for r in replays:
                if r["body"] != first[0]["body"]:
                    failures.append(f"{key}: a replay differs from the first reply")
            answered = min(r["received"] for r in first + replays)
            late = [r for r in recs if r["status"] == 422 and r["sent"] > answered]
            if late:
                failures.append(
                    f"{key}: {len(late)} copies sent after the application was answered"
                    f" were refused: {late[0]['body']}"
                )
        entries = sum(
            1
            for command_id in {r["commandId"] for r in recs}
            for e in caused.get(command_id, [])
            if e["eventType"] == "EntryPosted"
        )
        if entries != (1 if first else 0):
            failures.append(f"{key}: {entries} EntryPosted for {len(first)} application(s)")
    applied_ids = set()
    for r in applied:
        command_id = r["body"]["commandId"]
        applied_ids.add(command_id)
        got = caused.get(command_id, [])
        if [e["eventId"] for e in got] != r["body"]["eventIds"] or [
            e["eventType"] for e in got
        ].count("EntryPosted") != 1:
            failures.append(f"{r['key']}: its events are not its reply's eventIds")
    for r in flat:
        if r["status"] == 422 and r["commandId"] in caused and r["commandId"] not in applied_ids:
            failures.append(f"{r['key']}: a 422 wrote {len(caused[r['commandId']])} events")
    race_causes = {e["causationId"] for e in events if e["eventType"] == "EntryPosted"}
    if race_causes != applied_ids:
        failures.append(f"EntryPosted from {len(race_causes)} commands, {len(applied_ids)} applied")

    # No lost update, no overdraft.
    expected = {i: OPENING_CENTS for i in ids}
    for r in applied:
        for leg in r["payload"]["legs"]:
            sign = 1 if leg["direction"] == "DEBIT" else -1
            expected[leg["accountId"]] += sign * minor(leg["amount"])
    for i in ids:
        balance = minor(accounts[i]["balance"])
        if balance != expected[i]:
            failures.append(f"{i}: balance {balance} != {expected[i]} folded from the replies")
        if balance < -OVERDRAFT_CENTS:
            failures.append(f"{i}: overdrawn to {balance}")
        running = 0
        for e in streams[i]:
            p = e["payload"]
            if e["eventType"] == "FundsPosted":
                running += minor(p["amount"])
            elif e["eventType"] == "AccountBalanceUpdated":
                if minor(p["balance"]) != running + minor(p["change"]):
                    failures.append(f"{i} seq {e['sequence']}: balance is not prev + change")
                running = minor(p["balance"])
                if running < -OVERDRAFT_CENTS:
                    failures.append(f"{i} seq {e['sequence']}: overdrawn to {running}")
        if running != balance:
            failures.append(f"{i}: stream folds to {running}, projection says {balance}")
    failures += refusal_problems(flat, streams)
    if sum(minor(a["balance"]) for a in accounts.values()) != 0:
        failures.append("the tenant's balances do not sum to zero")
    return failures[:50]


def refusal_problems(
    flat: list[dict[str, Any]], streams: dict[str, list[dict[str, Any]]]
) -> list[str]:
    """Each refusal's balance less its command's change on that account must be a
    balance the account really had (opening, or recorded by an AccountBalanceUpdated):
    a refusal decided on a stale or invented balance is a lost update in disguise."""
    had = {
        i: {OPENING_CENTS}
        | {minor(e["payload"]["balance"]) for e in s if e["eventType"] == "AccountBalanceUpdated"}
        for i, s in streams.items()
    }
    problems = []
    for r in flat:
        details = r["body"].get("details", {}) if r["status"] == 422 else {}
        account = details.get("accountId")
        if account not in had:
            continue
        change = sum(
            (1 if leg["direction"] == "DEBIT" else -1) * minor(leg["amount"])
            for leg in r["payload"]["legs"]
            if leg["accountId"] == account
        )
        before = minor(details["balance"]) - change
        if before not in had[account]:
            problems.append(
                f"{r['key']}: refused on {account} at {before} cents before the change,"
                " a balance the account never had"
            )
    return problems


def test_32_clients_racing_transfers(servers: Servers, tmp_path: Path) -> None:
    server = servers.start(tmp_path / "race.db")
    report = run_race(server.url, clients=32, transfers=40, accounts=4)
    print(report)
    assert report["requests"] == 32 * 40
    assert report["accepted_first"] > 100 and report["statuses"].get("422", 0) > 100
    assert report["replayed"] >= 31 * 2  # at least two same-command rounds applied
    assert report["failures"] == [], "\n".join(report["failures"])
