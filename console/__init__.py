"""The operator console and member portal: a web app over TuringCore's public API.

`turingcore-console --base-url URL --api-key KEY` (console.cli) serves it;
`console.app.create_app` builds it. It reaches the service only through
`console.api` (the client generated from the spec); docs/console.md.
"""
