"""The client-side kit: what every program that talks to a TuringCore service shares.

Imported by `twin/` (and, next, `contract_tests/`); it never imports `mock_core`,
`twin` or `contract_tests`, and `mock_core` never imports it
(`tests/test_architecture.py`). It speaks HTTP only.

    contract   the spec's constants: GL chart, error and invariant codes, page size
    money      JSON amounts <-> integer minor units
    canonical  RFC 8785 canonical JSON, the event hash
    envelope   the command envelope
    refs       `{"$ref": ...}` in payloads -> server ids from earlier replies
    paging     offset pages and cursor pages
    wire       raw HTTP/1.1: the response parser, the blocking keep-alive transport
    retry      the one retry policy
    mux        the one multiplexer: many requests in flight from one thread
    errors     the exception tree
    replies    CommandRequest, CommandReply, RawReply, LatencyStats
    queries    the read endpoints
    client     TuringCoreClient: commands, queries, lanes, the mock's admin calls
    serving    start a `mock-core serve` process on a free port and stop it
"""
