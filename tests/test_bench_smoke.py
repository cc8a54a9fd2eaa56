"""The benchmark harness is importable, parses its options, and has its wrk scripts.

Fast (no server, no wrk run): the bench itself runs with `make bench`, never in
`make test`.
"""

from __future__ import annotations

import pytest

from bench import load, run

SCRIPTS = {
    "floor": ["/floor"],
    "post_entry": ['"PostEntry"', "/commands", "BENCH_ACCOUNT_A", "BENCH_ACCOUNT_B", "uuid()"],
    "post_entry_replay": ['"PostEntry"', "/commands", "idempotencyKey", "BENCH_REPLAY_ID"],
    "create_customer": ['"CreateCustomer"', "/commands", "email", "mobile", "BENCH_SEQ_BASE"],
    "open_account": ['"OpenAccount"', "/commands", "BENCH_CUSTOMERS_FILE"],
    "get_account": ['"/accounts/"', "BENCH_ACCOUNTS_FILE"],
    "list_customers": ['"/customers"', "limit=%d&offset=%d"],
    "list_accounts": ['"/accounts"', "limit=%d&offset=%d"],
    "account_events": ['"/accounts/"', "/events?limit=%d"],
    "tenant_events": ['"/events"', "after=%d&limit=%d"],
}


def test_every_wrk_script_exists_and_sends_the_expected_request() -> None:
    for script, needles in SCRIPTS.items():
        text = (load.WRK_DIR / f"{script}.lua").read_text()
        assert 'dofile(here .. "common.lua")' in text, script
        assert "done = common.done" in text, script
        for needle in needles:
            assert needle in text, (script, needle)
    common = (load.WRK_DIR / "common.lua").read_text()
    assert "BENCH_RESULT" in common and "/v1/tenants/" in common
    assert "latency:percentile" in common


def test_every_part_has_a_script_or_a_runner() -> None:
    for part in (*run.COMMAND_PARTS, *run.EXTRA_PARTS, *run.QUERY_SCRIPTS):
        script = run.SCRIPT_OF.get(part, part)
        assert (load.WRK_DIR / f"{script}.lua").is_file(), part
        assert part in run.COMMAND_LABELS


def test_defaults_and_quick_defaults() -> None:
    args = run.resolve(run.build_parser().parse_args([]))
    assert (args.runs, args.duration, args.connections) == (3, 10, [1, 8, 32])
    assert args.pg_workers == [1, 2, 4] and args.pg_commands == ["post_entry"]
    assert (args.twin_customers, args.twin_days, args.query_members) == (500, 30, 10_000)
    assert args.parts == list(run.PARTS)
    assert args.results_dir.endswith("bench/results")
    quick = run.resolve(run.build_parser().parse_args(["--quick"]))
    assert quick.runs == 1 and quick.duration <= 3 and quick.pg_workers == [1, 4]
    assert quick.results_dir.endswith("bench/results/quick")


def test_only_keeps_the_floor_and_the_order() -> None:
    args = run.resolve(run.build_parser().parse_args(["--only", "twin,post_entry", "--runs", "5"]))
    assert args.parts == ["floor", "post_entry", "twin"]
    assert args.runs == 5
    args = run.resolve(
        run.build_parser().parse_args(["--only", "floor_post", "--connections", "4,16"])
    )
    assert args.parts == ["floor", "floor_post"] and args.connections == [4, 16]


@pytest.mark.parametrize(
    "argv",
    [
        ["--only", "nope"],
        ["--pg-commands", "twin"],
        ["--runs", "0"],
        ["--connections", "0"],
    ],
)
def test_bad_options_are_refused(argv: list[str]) -> None:
    with pytest.raises(load.BenchError):
        run.resolve(run.build_parser().parse_args(argv))


def test_nearest_rank_percentile() -> None:
    values = [float(v) for v in range(1, 101)]
    assert load.percentile(values, 50) == 50.0
    assert load.percentile(values, 99) == 99.0
    assert load.percentile(values, 100) == 100.0
    assert load.percentile([3.0], 99) == 3.0
