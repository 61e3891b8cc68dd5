"""The garbage collector's settings while evaluation batches run."""

from __future__ import annotations

import gc
import weakref

import pytest

from server.ledger.evaluation import BATCH_GC_THRESHOLD, batch_garbage_collection


class _Node:
    partner: _Node | None = None


def test_settings_apply_inside_and_come_back_after() -> None:
    before_threshold, before_frozen = gc.get_threshold(), gc.get_freeze_count()
    with batch_garbage_collection():
        assert gc.get_threshold()[0] == BATCH_GC_THRESHOLD
        assert gc.get_threshold()[1:] == before_threshold[1:]
        # what was alive at the start is out of the collector's reach
        assert gc.get_freeze_count() > before_frozen
    assert gc.get_threshold() == before_threshold
    assert gc.get_freeze_count() == before_frozen


def test_settings_come_back_after_an_error() -> None:
    before_threshold, before_frozen = gc.get_threshold(), gc.get_freeze_count()
    with pytest.raises(RuntimeError), batch_garbage_collection():
        raise RuntimeError("batch failed")
    assert gc.get_threshold() == before_threshold
    assert gc.get_freeze_count() == before_frozen


def _tracked(thing: object) -> bool:
    """Whether the collector's generations hold ``thing`` (frozen objects are in none)."""
    return any(candidate is thing for candidate in gc.get_objects())


def test_objects_the_process_froze_itself_stay_frozen() -> None:
    # By identity: the freeze count alone moved whenever a frozen object was freed in
    # between (another test's thread), which failed this test now and then
    mine = [object()]
    gc.freeze()
    try:
        assert not _tracked(mine)
        with batch_garbage_collection():
            pass
        assert not _tracked(mine)
    finally:
        gc.unfreeze()
    assert _tracked(mine)


def test_reference_cycles_made_inside_are_still_collected() -> None:
    with batch_garbage_collection():
        first, second = _Node(), _Node()
        first.partner, second.partner = second, first
        alive = weakref.ref(first)
        del first, second
        assert alive() is not None  # a cycle: reference counting alone never frees it
        # allocations as a batch makes them, with no explicit gc.collect(): the young
        # and middle generations are collected along the way
        kept = [[index] for index in range(BATCH_GC_THRESHOLD * 12)]
        assert alive() is None
        del kept
