"""Handover events from serving-group diffs."""

from twin.constellation.handover import HandoverTracker

NAMES = ["S0", "S1", "S2", "S3", "S4"]


def _update(tracker, epoch, central, members, valid=True, reason="", visible=True):
    return tracker.update(
        epoch=epoch,
        time=epoch,
        entity="t",
        central=central,
        members=members,
        valid=valid,
        reason=reason,
        sat_names=NAMES,
        previous_central_visible=visible,
    )


def test_first_epoch_emits_nothing_when_valid():
    tracker = HandoverTracker()
    assert _update(tracker, 0, 1, (1, 0, 2)) == []


def test_central_change_with_reason():
    tracker = HandoverTracker()
    _update(tracker, 0, 1, (1, 0, 2))
    rows = _update(tracker, 1, 2, (2, 1, 3), visible=True)
    kinds = {r["kind"]: r for r in rows}
    assert kinds["central"]["from_sat"] == "S1" and kinds["central"]["to_sat"] == "S2"
    assert kinds["central"]["reason"] == "better"
    assert kinds["group"]["from_sat"] == "S0" and kinds["group"]["to_sat"] == "S3"
    rows = _update(tracker, 2, 3, (3, 2, 4), visible=False)
    assert [r["reason"] for r in rows if r["kind"] == "central"] == ["lost"]


def test_interruption_and_restore_are_recorded():
    tracker = HandoverTracker()
    _update(tracker, 0, 1, (1, 0, 2))
    rows = _update(tracker, 1, 1, (1,), valid=False, reason="only 1 of 3 members")
    assert [r["kind"] for r in rows] == ["group", "interruption"]
    assert rows[-1]["reason"] == "only 1 of 3 members"
    rows = _update(tracker, 2, 1, (1, 0, 2))
    assert [r["kind"] for r in rows] == ["group", "restored"]


def test_state_round_trip():
    tracker = HandoverTracker()
    _update(tracker, 0, 1, (1, 0, 2))
    again = HandoverTracker.from_state(tracker.state())
    assert _update(again, 1, 1, (1, 0, 2)) == []
    assert again.central_of("t") == 1 and again.central_of("other") == -1
