"""A running sandbox (stand-in Slack + the bot over HTTP) on a SQLite file of its own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import sandbox


@pytest.fixture
def running_sandbox(tmp_path: Path) -> Iterator[sandbox.Sandbox]:
    # No scheduler: the sweeps would post on their own timetable; the flows here are clicks.
    running = sandbox.start(db_path=tmp_path / "sandbox.db", scheduler=False)
    yield running
    running.stop()
