"""`python -m contract_tests`: the same as `contract-test`."""

import sys

from contract_tests.cli import main

sys.exit(main())
