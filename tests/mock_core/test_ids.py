"""The ids the mock makes: version 7 UUIDs, time-ordered, unique."""

from __future__ import annotations

import time
import uuid

from mock_core.gateway import new_uuid


def test_new_ids_are_version_7_uuids_in_time_order() -> None:
    before = time.time_ns() // 1_000_000
    ids = [new_uuid() for _ in range(5000)]
    after = time.time_ns() // 1_000_000
    for text in ids:
        parsed = uuid.UUID(text)
        assert str(parsed) == text  # canonical: lower-case 8-4-4-4-12
        assert parsed.version == 7 and parsed.variant == uuid.RFC_4122
        assert before <= int(text.replace("-", "")[:12], 16) <= after
    millis = [text[:13] for text in ids]
    assert millis == sorted(millis)  # index inserts land at the end, not at random pages
    assert len(set(ids)) == len(ids)
