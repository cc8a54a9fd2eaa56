"""`python -m twin` is the `twin` command."""

from twin.cli import main

raise SystemExit(main())
