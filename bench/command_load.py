"""The command parts under wrk: the floor and each command type on SQLite, and on
PostgreSQL with 1, 2 and 4 workers in databases created and dropped."""

from __future__ import annotations

from typing import Any

from bench import load, tenant_setup
from bench.measure import Context, load_section, part_payload, write_json
from bench.options import COMMAND_LABELS, COMMAND_PARTS, EXTRA_PARTS


def run_sqlite(ctx: Context) -> None:
    parts = [p for p in ctx.args.parts if p in (*COMMAND_PARTS, *EXTRA_PARTS)]
    needs_mock = any(p in COMMAND_PARTS for p in parts)
    if not needs_mock and "floor_post" not in parts:
        section = load_section(ctx, None, None, [], "floor ")
        write_json(
            ctx,
            "floor",
            part_payload(ctx, "floor", server="bench.floor_app", rows=section["floor"]),
        )
        return
    folder = ctx.workdir / "sqlite"
    database = folder / "mock.db"
    folder.mkdir(parents=True, exist_ok=True)
    mock = load.start_mock(f"sqlite:///{database}", folder / "mock.log")
    with load.running(mock):
        ctx.say(f"SQLite mock up at {mock.base_url} ({database}); setting up the tenant")
        setup = tenant_setup.setup_tenant(mock.base_url, folder, ctx.args.setup_customers)
        rss_start = mock.rss()
        section = load_section(ctx, mock, setup, parts, "sqlite")
    write_json(
        ctx, "floor", part_payload(ctx, "floor", server="bench.floor_app", rows=section["floor"])
    )
    for part in parts:
        write_json(
            ctx,
            part,
            part_payload(
                ctx,
                part,
                backend="sqlite",
                workers=1,
                command=COMMAND_LABELS[part],
                rss_mb_after_setup=round(rss_start / 2**20, 1),
                rows=section[part],
            ),
        )


def run_postgres(ctx: Context) -> None:
    args = ctx.args
    problem = load.postgres_problem(args.postgres_dsn)
    if problem:
        ctx.say(f"postgres: skipped ({problem})")
        write_json(ctx, "postgres", part_payload(ctx, "postgres", skipped=problem))
        return
    by_workers: dict[str, Any] = {}
    for workers in args.pg_workers:
        name, url = load.create_database(args.postgres_dsn)
        folder = ctx.workdir / f"postgres-{workers}"
        try:
            mock = load.start_mock(url, folder / "mock.log", workers=workers, database=name)
            with load.running(mock):
                ctx.say(f"PostgreSQL mock ({workers} worker(s)) up on database {name}")
                setup = tenant_setup.setup_tenant(mock.base_url, folder, args.setup_customers)
                section = load_section(ctx, mock, setup, args.pg_commands, f"pg w{workers}")
            by_workers[str(workers)] = section
        finally:
            load.drop_database(args.postgres_dsn, name)
    write_json(
        ctx,
        "postgres",
        part_payload(
            ctx,
            "postgres",
            backend="postgresql",
            commands=args.pg_commands,
            note="server CPU = uvicorn master + workers; db CPU = PostgreSQL backends of "
            "the bench database",
            workers=by_workers,
        ),
    )
