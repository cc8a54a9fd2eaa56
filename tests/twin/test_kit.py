"""The client-side kit's small modules on their own: contract, paging, refs, money,
serving.

The twin's end-to-end tests exercise them together; these pin each one down where
a fault would be cheap to find. Each check is a small function that returns its
problems (an empty list when it holds), shown to pass on the real input and to fail
on a deliberately broken one, so that a check which could never fail is not
mistaken for one that passed.
"""

from __future__ import annotations

import copy
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mock_core import errors, limits
from mock_core.core import state
from turingcore_client import contract, money, paging, refs, serving

Page = dict[str, Any]


# ------------------------------------------------------------------- contract


def _broken_spec(mutate: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    document = copy.deepcopy(contract.spec())
    mutate(document)
    return document


def _read_from(monkeypatch: pytest.MonkeyPatch, document: dict[str, Any], reader: Any) -> Any:
    """Call a cached reader of `contract` uncached, on `document` instead of the spec."""
    monkeypatch.setattr(contract, "spec", lambda: document)
    return reader.__wrapped__()


def chart_problems(chart: Sequence[str], funded_from: str) -> list[str]:
    """What is wrong with a GL chart as the kit reads it (empty when it is right)."""
    problems = []
    if tuple(chart) != state.GL_ACCOUNTS:
        problems.append(f"chart {tuple(chart)} is not the mock's {state.GL_ACCOUNTS}")
    if len(set(chart)) != len(chart):
        problems.append("a GL code appears twice")
    if funded_from not in chart:
        problems.append(f"initial deposits are funded from {funded_from}, not in the chart")
    return problems


def test_the_gl_chart_is_read_from_the_spec() -> None:
    chart, funded_from = contract.gl_accounts(), contract.initial_deposit_account()
    assert chart_problems(chart, funded_from) == []
    assert funded_from == state.INITIAL_DEPOSIT_ACCOUNT
    assert chart_problems(chart[:-1], funded_from), "a chart missing its last account passed"
    assert chart_problems((*chart, chart[0]), funded_from), "a chart with a duplicate passed"
    assert chart_problems(chart, "GL_NOWHERE"), "an unknown funding account passed"


def test_a_spec_without_a_chart_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    def drop_chart(document: dict[str, Any]) -> None:
        del document["components"]["schemas"]["GLAccountCode"]

    document = _broken_spec(drop_chart)
    with pytest.raises(LookupError, match="no GL chart"):
        _read_from(monkeypatch, document, contract.gl_accounts)
    with pytest.raises(LookupError, match="no initial deposit account"):
        _read_from(monkeypatch, document, contract.initial_deposit_account)


def test_the_kit_and_the_mock_read_the_same_codes_in_the_spec_order() -> None:
    """Two readers of one spec (the mock does not import the kit): they must agree."""
    assert contract.error_codes() == tuple(errors.REQUEST_ERRORS)
    # Precedence is part of the contract: the same codes in another order is a change.
    assert contract.invariant_codes() == errors.INVARIANTS
    assert tuple(reversed(contract.invariant_codes())) != errors.INVARIANTS


def test_the_codes_follow_the_spec(monkeypatch: pytest.MonkeyPatch) -> None:
    def drop_last_invariant(document: dict[str, Any]) -> None:
        schema = document["components"]["schemas"]["InvariantViolation"]
        schema["properties"]["invariant"]["enum"].pop()

    document = _broken_spec(drop_last_invariant)
    read = _read_from(monkeypatch, document, contract.invariant_codes)
    assert read == errors.INVARIANTS[:-1]
    assert read != errors.INVARIANTS


def test_page_size_max_is_the_specs(monkeypatch: pytest.MonkeyPatch) -> None:
    # paging.PAGE_SIZE_MAX is a constant (it is a default argument); this keeps it equal
    # to the spec's `Limit` maximum and to the mock's own limit.
    assert paging.PAGE_SIZE_MAX == contract.page_size_max() == limits.page_size_max

    def halve_limit(document: dict[str, Any]) -> None:
        document["components"]["parameters"]["Limit"]["schema"]["maximum"] //= 2

    broken = _read_from(monkeypatch, _broken_spec(halve_limit), contract.page_size_max)
    assert broken == paging.PAGE_SIZE_MAX // 2
    assert broken != paging.PAGE_SIZE_MAX, "a changed Limit maximum went unnoticed"


# --------------------------------------------------------------------- paging


def offset_server(
    items: list[int], *, ignores_offset: bool = False
) -> tuple[Callable[[int], Page], list[int]]:
    """A fake offset list of `items` in pages of 10, and the offsets it is asked for."""
    asked: list[int] = []

    def fetch(offset: int) -> Page:
        asked.append(offset)
        start = 0 if ignores_offset else offset
        return {"items": items[start : start + 10], "total": len(items), "offset": offset}

    return fetch, asked


def paging_problems(fetch: Callable[[int], Page], expected: list[int]) -> list[str]:
    """Does reading every page give each item once, in order?"""
    got = list(paging.offset_items(fetch, "items"))
    return [] if got == expected else [f"paged {got[:12]}..., expected {expected[:12]}..."]


def test_offset_pages_concatenate_to_the_list() -> None:
    items = list(range(25))
    fetch, asked = offset_server(items)
    assert paging_problems(fetch, items) == []
    assert asked == [0, 10, 20]
    assert paging_problems(offset_server(items, ignores_offset=True)[0], items)


def test_offset_paging_starts_from_a_first_page_and_stops_on_an_empty_one() -> None:
    items = list(range(15))
    fetch, asked = offset_server(items)
    first = fetch(0)
    assert list(paging.offset_items(fetch, "items", first=first)) == items
    assert asked == [0, 10]
    # A server that overstates its total still ends the read (an empty page).
    lying, _ = offset_server(items)
    pages = [lying(0), lying(10), {"items": [], "total": 99}]
    assert list(paging.offset_items(lambda offset: pages[offset // 10], "items")) == items


def cursor_server(events: list[int], *, loops: bool = False) -> Callable[[int], Page]:
    """Fake event pages of 4 after `after`; `loops` always hands out cursor 4."""

    def fetch(after: int) -> Page:
        page = [e for e in events if e > after][:4]
        cursor = page[-1] if page and page[-1] != events[-1] else None
        return {"events": [{"seq": e} for e in page], "nextCursor": 4 if loops else cursor}

    return fetch


def cursor_problems(fetch: Callable[[int], Page], expected: list[int], most: int) -> list[str]:
    """Does following `nextCursor` give each event once, in order, in under `most` reads?"""
    got = []
    for event in paging.cursor_events(fetch):
        got.append(event["seq"])
        if len(got) > most:
            return [f"more than {most} events: the cursor does not advance"]
    return [] if got == expected else [f"read {got}, expected {expected}"]


def test_cursor_pages_follow_next_cursor_to_null() -> None:
    events = list(range(1, 11))
    assert cursor_problems(cursor_server(events), events, most=len(events)) == []
    assert list(paging.cursor_events(cursor_server(events), after=8)) == [{"seq": 9}, {"seq": 10}]
    assert cursor_problems(cursor_server(events, loops=True), events, most=len(events))


def test_pages_max_bounds_a_list_that_never_ends() -> None:
    # A cursor that never advances and a total that is never reached: without a bound
    # each read would go on for ever; with `pages_max` it stops after that many pages.
    looping = cursor_server(list(range(1, 11)), loops=True)
    assert len(list(paging.cursor_events(looping, pages_max=3))) == 4 * 3
    endless: Callable[[int], Page] = lambda offset: {"items": [offset], "total": 10**9}  # noqa: E731
    assert list(paging.offset_items(endless, "items", pages_max=3)) == [0, 1, 2]
    # The bound changes nothing for a list that ends before it.
    fetch, _ = offset_server(list(range(25)))
    assert list(paging.offset_items(fetch, "items", pages_max=3)) == list(range(25))
    events = list(range(1, 11))
    assert len(list(paging.cursor_events(cursor_server(events), pages_max=3))) == 10


# ----------------------------------------------------------------------- refs


def test_refs_resolve_nested_copying_only_the_path_to_a_ref() -> None:
    table = refs.RefTable()
    table.set("account:C1:TXN", "acc-1")
    shared = {"narrative": "salary", "tags": ["a"]}
    payload: dict[str, Any] = {
        "legs": [{"accountId": {"$ref": "account:C1:TXN"}}, {"accountId": "GL_X"}]
    }
    payload["meta"] = shared
    resolved = table.resolve(payload)
    assert resolved["legs"][0]["accountId"] == "acc-1"
    assert payload["legs"][0]["accountId"] == {"$ref": "account:C1:TXN"}, "the plan changed"
    assert resolved["legs"][1] is payload["legs"][1]
    assert resolved["meta"] is shared
    assert table.resolve(shared) is shared
    assert table.by_server_id() == {"acc-1": "account:C1:TXN"}
    # A dict with a `$ref` and other keys is data, not a ref.
    assert table.resolve({"$ref": "x", "other": 1}) == {"$ref": "x", "other": 1}


def test_an_unproduced_ref_is_unresolved() -> None:
    table = refs.RefTable()
    with pytest.raises(refs.Unresolved) as caught:
        table.resolve({"customerId": {"$ref": "customer:C9"}})
    assert caught.value.ref == "customer:C9"
    table.fail("customer:C9")
    assert table.failed("customer:C9") and table.get("customer:C9") is None


@pytest.mark.parametrize(
    ("produces", "reply", "expected"),
    [
        ("customer:C1", {"customerId": "c-1", "result": {"customerId": "other"}}, "c-1"),
        ("account:C1:TXN", {"result": {"tenantId": "T", "accountId": "a-1"}}, "a-1"),
        ("product:SAVER", {"productCode": "SAVER"}, "SAVER"),
        ("thing:1", {"result": {"tenantId": "T", "widget": "w-1"}}, "w-1"),
        ("thing:1", {"result": {"tenantId": "T", "a": "1", "b": "2"}}, None),
        ("entry:E1", {"result": "not a mapping"}, None),
    ],
)
def test_produced_id_reads_where_the_published_client_reads(
    produces: str, reply: dict[str, Any], expected: str | None
) -> None:
    assert refs.produced_id(produces, reply) == expected


# ---------------------------------------------------------------------- money


def _naive_cents(value: Any) -> int:
    return int(value * 100)  # the float bug the kit's `cents` exists to avoid


def cents_problems(reader: Callable[[Any], Any], value: float) -> list[str]:
    """Does `reader` give the exact cents of a served amount?"""
    want = money.minor_units(money.amount(value))
    got = reader(value)
    return [] if got == want else [f"{value!r}: {got!r} cents, expected {want}"]


@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_cents_are_exact_for_two_decimal_floats(whole: int) -> None:
    value = whole / 100
    assert cents_problems(money.cents, value) == []
    assert money.format_minor(whole) == f"{Decimal(whole) / 100:.2f}"


def test_money_checks_fail_on_a_naive_reader() -> None:
    assert cents_problems(money.cents, 0.29) == []
    assert cents_problems(_naive_cents, 0.29), "int(0.29 * 100) == 28 passed"


def test_money_reads_json_numbers_exactly() -> None:
    assert money.amount(0.1) == Decimal("0.1")
    assert money.amount(12) == Decimal(12)
    assert money.canonical_amount(100) == money.canonical_amount(100.0) == "100.00"
    assert money.minor_units(Decimal("12.345")) == 1234  # half-even
    assert money.cents(1.005) == Decimal("100.500")  # a third decimal is kept
    assert money.format_minor(-1230) == "-12.30"
    assert money.format_minor(Decimal("0.1")) == "0.001"
    for bad in (True, None):
        with pytest.raises(TypeError):
            money.amount(bad)


# -------------------------------------------------------------------- serving


def test_free_port_is_bindable() -> None:
    port = serving.free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_served_mock_answers_then_stops_when_the_block_ends(tmp_path: Path) -> None:
    args = ["--database-url", f"sqlite:///{tmp_path / 'db.sqlite'}", "--no-access-log"]
    with serving.served_mock(args) as base_url:
        assert httpx.get(f"{base_url}/healthz", timeout=5).status_code == 200
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{base_url}/healthz", timeout=2)


def test_start_mock_reports_a_mock_that_exits(tmp_path: Path) -> None:
    with tempfile.TemporaryFile() as log, pytest.raises(serving.MockStartError) as caught:
        serving.start_mock(["--no-such-option"], log=log, cwd=tmp_path)
    assert "exited with" in str(caught.value)
    assert "--no-such-option" in str(caught.value)  # the tail of the mock's log


def test_start_mock_gives_up_on_a_mock_that_never_gets_ready(tmp_path: Path) -> None:
    args = ["--database-url", f"sqlite:///{tmp_path / 'db.sqlite'}", "--no-access-log"]
    with tempfile.TemporaryFile() as log, pytest.raises(serving.MockStartError) as caught:
        serving.start_mock(args, log=log, ready_path="/no-such-path", wait_s=3)
    assert "did not answer /no-such-path" in str(caught.value)


def test_stop_mock_leaves_an_exited_process_alone() -> None:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait(10)
    serving.stop_mock(process)
    assert process.returncode == 0
