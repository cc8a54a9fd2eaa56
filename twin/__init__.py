"""The digital twin: a seeded credit union driven through the TuringCore v1 API.

`turingcore_client` (the kit) talks to the API, `twin.config` reads the tenant and
scenario files, `twin.generators` plans the commands,
`twin.runner` sends them, `twin.invariants` checks the ledger through the API
alone, and `twin.cli` is the `twin` command. Nothing here imports the mock.
"""
