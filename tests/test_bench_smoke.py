"""The benchmark harness is importable, parses its options, and has its wrk scripts.

Fast (no wrk run): the load benches run with `make bench`, never in `make test`.
`bench.scale` is run here at 30 members x 2 days (a few seconds each), on the real
mock and on one with a broken hash chain, which must make it exit 1.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest

from bench import fold_ab, load, run, scale
from twin.latency import DecileLatencies

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


# ------------------------------------------------------------------ bench.scale

# A `mock-core` that serves the real mock with tests/contract/broken.py's defect
# `hash_skips_field` (the event hash leaves occurredAt out): every command is accepted
# as usual, and the twin's event_integrity check must fail.
BROKEN_MOCK = """#!{python}
import contextlib, sys
from unittest import mock
sys.path.insert(0, {root!r})
from tests.contract.broken import VARIANTS
from mock_core.cli import main
with contextlib.ExitStack() as stack:
    for dotted, replacement in VARIANTS["hash_skips_field"].patches:
        stack.enter_context(mock.patch(dotted, replacement))
    sys.exit(main(sys.argv[1:]))
"""


def _scale(tmp_path: Path, *extra: str) -> tuple[int, dict[str, Any], str]:
    # Sampled every 0.1 s: the twin runs for a second or two at this size.
    argv = ["--customers", "30", "--days", "2", "--results-dir", str(tmp_path)]
    argv += ["--sample-every", "0.1", *extra]
    code = scale.main(argv)
    data = json.loads((tmp_path / "scale-sqlite-30x2.json").read_text())
    return code, data, (tmp_path / "scale-sqlite-30x2.md").read_text()


def test_scale_runs_the_twin_end_to_end_and_writes_its_figures(tmp_path: Path) -> None:
    # 600 MB resident in the launcher (this process) at the twin's fork: the twin's
    # memory figures must not count it (wait4's ru_maxrss does: the copy exec replaced).
    ballast = b"\x01" * (600 * 2**20)
    code, data, text = _scale(tmp_path)
    del ballast
    assert code == 0 and data["ok"] is True and data["twin_exit_code"] == 0
    assert data["invariants"] == dict.fromkeys(scale.CHECKS, "PASS")
    phases = {p["name"]: p for p in data["phases"]}
    assert list(phases) == ["plan", "setup", "simulate", "checks"]
    assert phases["setup"]["commands"] + phases["simulate"]["commands"] == data["commands"] > 0
    assert all(p["wall_s"] >= 0 for p in data["phases"])
    assert data["end_to_end_s"] >= sum(p["wall_s"] for p in data["phases"]) - 0.5
    deciles = data["simulate_deciles"]
    assert [d["decile"] for d in deciles] == list(range(1, 11))
    # Every simulate command is counted in its tenth, and the tenths tile the phase.
    assert sum(d["count"] for d in deciles) == phases["simulate"]["commands"]
    assert deciles[0]["first_index"] == 0
    assert deciles[-1]["last_index"] == phases["simulate"]["commands"] - 1
    assert all(0 < d["p50_ms"] <= d["p99_ms"] for d in deciles)
    ratio = deciles[-1]["p99_ms"] / deciles[0]["p99_ms"]
    assert data["p99_last_over_first"] == pytest.approx(ratio, abs=1e-3)
    assert data["server"]["rss_peak_mb"] > 20 and data["twin"]["rss_peak_mb"] > 20
    assert 20 < data["twin"]["pss_peak_mb"] <= data["twin"]["rss_peak_mb"]
    assert data["server"]["cpu_s"] > 0
    samples = data["samples"]
    assert samples["columns"] == list(scale.SAMPLE_COLUMNS)
    assert len(samples["rows"]) >= 2 and all(len(r) == 9 for r in samples["rows"])
    logged = scale.SAMPLE_COLUMNS.index("commands_logged")
    assert samples["rows"][-1][logged] == data["commands"]  # the run log's lines, all counted
    assert all("server_cpu_us_per_command" in d for d in deciles)
    targets = {t["name"]: t for t in data["targets"]}
    assert targets["five checks PASS"]["met"] is True
    assert targets["end to end, 100,000 x 30 on SQLite"]["met"] is None  # not this size
    assert targets["server RSS peak"]["met"] is True
    memory = targets["twin memory peak at 30 members (PSS of its processes, summed)"]
    assert memory["target"] == "< 300 MB"
    assert 20 < data["twin"]["hwm_mb"] <= memory["measured"] < 300 and memory["met"] is True
    assert data["twin"]["rss_peak_mb"] < 300
    assert "| simulate |" in text and "p99 last tenth / first tenth" in text


def test_scale_exits_non_zero_when_a_check_fails(tmp_path: Path) -> None:
    broken = tmp_path / "broken-mock-core"
    broken.write_text(BROKEN_MOCK.format(python=sys.executable, root=str(load.ROOT)))
    broken.chmod(0o755)
    code, data, text = _scale(tmp_path, "--mock-executable", str(broken))
    assert code == 1 and data["ok"] is False and data["twin_exit_code"] == 1
    assert data["unexpected_outcomes"] == 0  # the commands went through; a check failed
    assert data["invariants"].pop("event_integrity") == "FAIL"
    assert set(data["invariants"].values()) <= {"PASS"}
    targets = {t["name"]: t for t in data["targets"]}
    assert targets["five checks PASS"]["met"] is False
    assert "**FAILED**" in text


def test_scale_checks_a_kept_store_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--keep leaves the store and the run log; --inspect-kept runs only the checks on
    them: the same verdicts and state digest as the run's. With one stored event
    edited, the same store fails event_integrity, and the bench exits 1."""
    code, data, _ = _scale(tmp_path, "--keep")
    kept = Path(capsys.readouterr().out.split("work directory kept: ")[1].split()[0])
    try:
        assert code == 0 and (kept / "mock.db").is_file()
        results = tmp_path / "inspect"
        argv = ["--inspect-kept", str(kept), "--results-dir", str(results)]
        assert scale.main([*argv, "--sample-every", "0.1"]) == 0
        found = json.loads((results / "scale-inspect-sqlite-30x2.json").read_text())
        assert found["verdicts"] == data["invariants"] == dict.fromkeys(scale.CHECKS, "PASS")
        assert found["state_digest"] == found["run_state_digest"] is not None
        assert found["exit_code"] == 0 and found["twin_peak_rss_mb"] > 20
        assert (
            found["command"]
            == f"python -m bench.scale --inspect-kept {kept} --results-dir {results} "
            "--sample-every 0.1"
        )
        assert "twin peak RSS" in (results / "scale-inspect-sqlite-30x2.md").read_text()

        with sqlite3.connect(kept / "mock.db") as db:  # one stored event edited
            edited = db.execute(
                'UPDATE events SET envelope = replace(envelope, \'"occurredAt":"2\', '
                "'\"occurredAt\":\"1') WHERE sequence = 40 AND tenant_id = 'CU_DIGITAL'"
            ).rowcount
        assert edited == 1
        argv = ["--inspect-kept", str(kept), "--results-dir", str(results)]
        assert scale.main(argv) == 1
        found = json.loads((results / "scale-inspect-sqlite-30x2.json").read_text())
        assert found["verdicts"]["event_integrity"] == "FAIL" and found["exit_code"] == 1
    finally:
        shutil.rmtree(kept, ignore_errors=True)
    assert scale.main(["--inspect-kept", str(tmp_path)]) == 2  # no store there


def test_decile_latencies_tile_the_phase_by_command_index() -> None:
    deciles = DecileLatencies(12)
    for index in range(12):
        deciles.record(index, (index + 1) / 1000)
    rows = deciles.summary()
    assert [(r["first_index"], r["last_index"], r["count"]) for r in rows] == [
        (0, 1, 2),
        (2, 2, 1),
        (3, 3, 1),
        (4, 4, 1),
        (5, 5, 1),
        (6, 7, 2),
        (8, 8, 1),
        (9, 9, 1),
        (10, 10, 1),
        (11, 11, 1),
    ]
    assert (rows[0]["p50_ms"], rows[0]["p99_ms"]) == (1.0, 2.0)
    assert rows[-1]["p99_ms"] == 12.0
    empty = DecileLatencies(3).summary()
    assert sum(r["count"] for r in empty) == 0 and empty[0]["p99_ms"] is None


def test_fold_ab_alternates_the_two_modes_and_writes_its_figures(tmp_path: Path) -> None:
    """bench.fold_ab at 20 x 2, one round of each part: both modes run, pass, agree."""
    argv = ["--customers", "20", "--days", "2", "--rounds", "1", "--runs", "1"]
    assert fold_ab.main([*argv, "--results-dir", str(tmp_path)]) == 0
    data = json.loads((tmp_path / "fold-process-ab-20x2.json").read_text())
    for part in ("checks", "e2e"):
        rows = data[part]["rows"]
        assert sorted(r["mode"] for r in rows) == ["forked", "in_process"]
        assert {r["exit_code"] for r in rows} == {0}
        assert len({r["state_digest"] for r in rows}) == 1
        assert data[part]["medians"]["wall_s"]["ratio"] > 0
    assert {v for r in data["checks"]["rows"] for v in r["verdicts"].values()} == {"PASS"}
    assert "| wall_s |" in (tmp_path / "fold-process-ab-20x2.md").read_text()


def test_wrk_ab_counts_the_servers_writes_and_cpu(tmp_path: Path) -> None:
    """`bench.wrk_ab`'s figures per process: the kernel's count of write system calls
    moves by the writes made, and CPU time is read in seconds."""
    import os

    from bench import wrk_ab

    cpu0, writes0 = wrk_ab.proc_figures(os.getpid())
    fd = os.open(tmp_path / "out", os.O_WRONLY | os.O_CREAT)
    try:
        for _ in range(50):
            os.write(fd, b"x")
    finally:
        os.close(fd)
    sum(i * i for i in range(2_000_000))  # some CPU
    cpu1, writes1 = wrk_ab.proc_figures(os.getpid())
    assert 50 <= writes1 - writes0 < 60
    assert 0 < cpu1 - cpu0 < 30


def test_bench_tenants_says_where_the_cores_went() -> None:
    """`bench.tenants` reads the mock's CPU, PostgreSQL's (its server processes, found by
    name) and the machine's around a run, and quotes them beside the throughput."""
    import os
    from types import SimpleNamespace

    import psycopg

    from bench import tenants
    from tests.conftest import PG_ADMIN_DSN, require_postgres

    require_postgres()
    server: Any = SimpleNamespace(process=SimpleNamespace(pid=os.getpid()))
    with psycopg.connect(PG_ADMIN_DSN) as conn:  # its backend lives through both readings
        mock0, database0, busy0 = tenants.cpu_split(server)
        assert database0, "no PostgreSQL process found"
        conn.execute("SELECT count(*) FROM generate_series(1, 3000000)").fetchone()
        sum(i * i for i in range(2_000_000))  # the "mock" (this process) works too
        mock1, database1, busy1 = tenants.cpu_split(server)
    assert mock1 > mock0 and busy1 > busy0
    assert sum(cpu - database0.get(pid, 0.0) for pid, cpu in database1.items()) > 0.05

    def run(rps: float, mock_us: float, pg_us: float) -> dict[str, Any]:
        figures = {"rps": rps, "p99_ms": 10.0, "busy_cores": 1.5}
        return {**figures, "mock_cpu_us": mock_us, "postgres_cpu_us": pg_us}

    runs = [
        {"sqlite/1w/1t": run(4000, 250, 0.4), "postgresql/1w/1t": run(2000, 340, 200)},
        {"sqlite/1w/1t": run(4200, 240, 0.6), "postgresql/1w/1t": run(2200, 360, 220)},
    ]
    meta = {
        "command": "python -m bench.tenants",
        "started": "s",
        "finished": "f",
        "machine": {"nproc": 2, "cpu_model": "x", "git_commit": "0" * 12, "load_average_start": []},
        "connections": 32,
        "duration": 8,
        "runs": 2,
    }
    table = tenants.render(tenants.summarise(runs), meta)
    assert "| mock CPU us/req | PostgreSQL CPU us/req | busy cores |" in table
    assert "| sqlite | 1 | 1 | 4,100 | 4,000, 4,200 | 1.00 | 10.0 | 245 | - | 1.50 |" in table
    assert "| postgresql | 1 | 1 | 2,100 | 2,000, 2,200 | 0.51 | 10.0 | 350 | 210 | 1.50 |" in table


STOPPED_BY_SIGTERM = """
import sys, time
from pathlib import Path
from bench import load

def main() -> int:
    folder = Path(sys.argv[1])
    server = load.start_mock(f"sqlite:///{folder}/mock.db", folder / "mock.log")
    with load.running(server):
        print(server.process.pid, flush=True)
        time.sleep(60)
    return 0

raise SystemExit(load.main_of(main))
"""


def test_a_bench_tool_stopped_by_sigterm_stops_the_mock_it_started(tmp_path: Path) -> None:
    """A bench tool run through `load.main_of` and sent SIGTERM unwinds: its `finally`
    stops the mock it served, and it exits 143 (Python's own handler would end it at once
    and leave the mock running)."""
    import os
    import signal
    import subprocess

    tool = subprocess.Popen(
        [sys.executable, "-c", STOPPED_BY_SIGTERM, str(tmp_path)],
        cwd=load.ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    mock_pid = 0
    try:
        assert tool.stdout is not None
        mock_pid = int(tool.stdout.readline())
        tool.send_signal(signal.SIGTERM)
        assert tool.wait(timeout=30) == 128 + signal.SIGTERM
        assert not Path(f"/proc/{mock_pid}").exists(), "the mock outlived the tool"
    finally:
        tool.kill()
        tool.wait()
        if mock_pid and Path(f"/proc/{mock_pid}").exists():
            os.kill(mock_pid, signal.SIGKILL)
