"""Zone occupancy, visits and dwell: a person standing in a zone is one visit however long they stay."""

import numpy as np
import pytest

from matakota.analytics.zones import ZoneCounter
from tests.analytics.synthetic_scenes import dets, person_at

ZONE = np.array([[100, 100], [300, 100], [300, 300], [100, 300]], float)


def feed(counter, positions_per_frame, fps=1.0):
    """positions_per_frame: list of {track_id: (x, y) or None}; returns occupancy per frame."""
    occupancy = []
    for i, positions in enumerate(positions_per_frame):
        present = {k: p for k, p in positions.items() if p is not None}
        boxes = [person_at(*p) for p in present.values()]
        occupancy.append(counter.update(dets(boxes, ids=list(present)), i / fps))
    return occupancy


INSIDE, OUTSIDE = (200, 200), (500, 200)


@pytest.mark.parametrize(
    ("path", "visits", "dwells"),
    [
        ([INSIDE] * 10 + [OUTSIDE] * 10, 1, [9.0]),  # stays 10 s
        ([OUTSIDE] * 3 + [INSIDE] * 3 + [OUTSIDE] * 2 + [INSIDE] * 3 + [OUTSIDE] * 10, 1, [7.0]),  # 2 s out < 3 s grace
        ([INSIDE] * 3 + [OUTSIDE] * 6 + [INSIDE] * 3 + [OUTSIDE] * 10, 2, [2.0, 2.0]),  # 6 s out = new visit
        ([INSIDE] * 3 + [None] * 2 + [INSIDE] * 3 + [None] * 10, 1, [7.0]),  # missed detections inside
        ([OUTSIDE] * 20, 0, []),
    ],
)
def test_visits_and_dwell(path, visits, dwells):
    zone = ZoneCounter("plaza", ZONE, grace_s=3.0)
    feed(zone, [{7: p} for p in path])
    assert zone.visits_total == visits
    assert [v.dwell_s for v in zone.take_closed()] == dwells
    assert zone.take_closed() == []  # each visit is handed out once


def test_occupancy_counts_confirmed_people_inside_only():
    zone = ZoneCounter("plaza", ZONE)
    detections = dets([person_at(*INSIDE), person_at(150, 250), person_at(*OUTSIDE), person_at(210, 210)],
                      ids=[1, 2, 3, -1])
    assert zone.update(detections, 0.0) == 2


def test_occupancy_ignores_other_classes():
    zone = ZoneCounter("plaza", ZONE, classes=(0,))
    assert zone.update(dets([person_at(*INSIDE)], cls=2, ids=[1]), 0.0) == 0


def test_occupancy_time_series_and_maximum():
    zone = ZoneCounter("plaza", ZONE)
    frames = [{1: INSIDE}, {1: INSIDE, 2: INSIDE}, {1: INSIDE, 2: INSIDE, 3: INSIDE}, {}]
    assert feed(zone, frames) == [1, 2, 3, 0]
    assert list(zone.series) == [(0.0, 1), (1.0, 2), (2.0, 3), (3.0, 0)]
    assert zone.max_occupancy == 3 and zone.visits_total == 3


def test_person_standing_in_zone_for_an_hour_is_one_visit_with_growing_dwell():
    zone = ZoneCounter("plaza", ZONE)
    feed(zone, [{4: INSIDE}] * 3600)
    assert zone.visits_total == 1
    assert zone.open_dwell(3599.0) == {4: 3599.0}


def test_close_all_ends_open_visits_at_their_last_sighting():
    zone = ZoneCounter("plaza", ZONE)
    feed(zone, [{4: INSIDE}] * 10)  # still inside when the stream ends
    assert zone.take_closed() == []
    zone.close_all()
    assert [(v.tracker_id, v.dwell_s) for v in zone.take_closed()] == [(4, 9.0)]
    assert zone.open_dwell(10.0) == {}
