"""The twin's client is the kit's (`turingcore_client`): this module only keeps the old
import path for the code outside twin/ that still uses it (tests/faults). New code
imports from `turingcore_client` directly."""

from __future__ import annotations

from turingcore_client.client import TuringCoreClient
from turingcore_client.errors import ApiError, ServiceUnreachableError
from turingcore_client.replies import CommandReply

__all__ = ["ApiError", "CommandReply", "ServiceUnreachableError", "TuringCoreClient"]
