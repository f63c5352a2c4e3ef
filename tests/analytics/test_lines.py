"""Line crossings: direction, flicker, unconfirmed tracks, walking round the end of the line."""

import pytest

from matakota.analytics.lines import LineCounter
from tests.analytics.synthetic_scenes import dets, person_at

# horizontal line y=200 from x=100 to x=500, drawn left→right: 'right' side = below it (y > 200)


def walk(ys, x=300, track=1, in_side="right", xs=None):
    line = LineCounter("gate", (100, 200), (500, 200), in_side=in_side, margin_px=4, min_updates=2)
    crossings = []
    for i, y in enumerate(ys):
        px = x if xs is None else xs[i]
        crossings += line.update(dets([person_at(px, y)], ids=[track]), float(i))
    return line, [c.direction for c in crossings]


@pytest.mark.parametrize(
    ("ys", "in_side", "expected"),
    [
        ([150, 170, 190, 210, 230, 250], "right", ["in"]),
        ([250, 230, 210, 190, 170, 150], "right", ["out"]),
        ([250, 230, 210, 190, 170, 150], "left", ["in"]),
        ([150, 250, 150, 150, 150], "right", []),  # one-frame flicker across
        ([150, 250, 250, 150, 150], "right", ["in", "out"]),  # two updates over there = real
        ([150, 198, 202, 199, 201, 150], "right", []),  # dithering inside the ±4 px dead band
        ([150, 150, 260, 260, 150, 150, 260, 260], "right", ["in", "out", "in"]),
        ([250, 250, 250], "right", []),  # appearing on a side is not a crossing
    ],
)
def test_crossing_direction_and_hysteresis(ys, in_side, expected):
    line, directions = walk(ys, in_side=in_side)
    assert directions == expected
    assert (line.in_count, line.out_count) == (expected.count("in"), expected.count("out"))


def test_unconfirmed_track_never_counts():
    _, directions = walk([150, 170, 230, 250, 270], track=-1)
    assert directions == []


def test_walking_round_the_end_of_the_line_does_not_count_but_coming_back_across_does():
    xs = [600, 600, 600, 600, 300, 300]
    ys = [150, 150, 250, 250, 150, 150]  # passes beyond x=500, then crosses back over the segment
    _, directions = walk(ys, xs=xs)
    assert directions == ["out"]


def test_each_person_counted_once_in_a_crowd():
    line = LineCounter("gate", (0, 200), (800, 200))
    total = []
    for step in range(6):
        y = 150 + 25 * step
        boxes = [person_at(50 + 60 * k, y) for k in range(10)]
        total += line.update(dets(boxes, ids=list(range(10))), float(step))
    assert line.in_count == 10 and line.out_count == 0
    assert sorted(c.tracker_id for c in total) == list(range(10))
