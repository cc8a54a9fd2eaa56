"""An event-sourced mock of the TuringCore v1 core-banking API.

Layers, outermost first (imports only point down):

    cli, api      HTTP and the command line: parse, call the gateway, render
    gateway       the shell: load state, decide, append, project, one transaction
    store         SQLAlchemy Core tables, the hash chain, Alembic migrations
    core          pure functions: decide(state, command) and evolve(state, event)
    contract, errors, money, limits   shared vocabulary (the contract's codes read
                  from the spec it ships), no dependencies
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("turingcore-kit")  # one source: pyproject.toml
except PackageNotFoundError:  # run from a checkout that was never installed
    __version__ = "0+unknown"
