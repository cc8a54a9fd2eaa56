"""The digital twin: a seeded credit union driven through the TuringCore v1 API.

`twin.client` talks to the API, `twin.generators` plans the commands,
`twin.runner` sends them, `twin.invariants` checks the ledger through the API
alone, and `twin.cli` is the `twin` command. Nothing here imports the mock.
"""
