"""What start-up built is frozen out of the collector's full collections (bot/gc_settle.py)."""

from __future__ import annotations

import gc
import weakref

from bot.gc_settle import freeze_start_up


class _Built:
    """Stands for an object start-up made: a listener, a mapper, a compiled statement."""


def test_objects_made_before_are_frozen_and_later_ones_still_collected():
    built = _Built()
    assert any(o is built for o in gc.get_objects())
    try:
        frozen = freeze_start_up()
        # What it returns is what was frozen; frozen objects that another thread of the test
        # process frees meanwhile (a fake Slack connection closing) leave the count.
        assert 0 < gc.get_freeze_count() <= frozen
        # Out of every generation the collector walks.
        assert not any(o is built for o in gc.get_objects())
        # What is made afterwards is tracked and collected as before: a cycle left behind goes.
        later = _Built()
        later.itself = later  # type: ignore[attr-defined]
        assert any(o is later for o in gc.get_objects())
        gone = weakref.ref(later)
        del later
        gc.collect()
        assert gone() is None
    finally:
        gc.unfreeze()  # the test process goes on as it was
    assert any(o is built for o in gc.get_objects())
