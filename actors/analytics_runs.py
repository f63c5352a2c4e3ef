"""Which run of each camera's analytics is current, as the EventSink hears it from count records (`part`: a run
names itself, core/counts). A camera whose run changed lost its analytics (a failover, a restart): the open parking
cases of the run before may never hear their end (store/cases.py `close_lost_cases`).

    runs = AnalyticsRuns()
    runs.heard("cam-1", "a1", t=100.0)
    runs.heard("cam-1", "b2", t=400.0)   # the shard died: fresh analytics
    runs.replaced()  # {"cam-1": RunChange(run="b2", since=400.0, before="a1", before_last=100.0)}
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RunChange:
    run: str  # the current run
    since: float  # when it was first heard
    before: str  # the run it replaced …
    before_last: float  # … and when that one was last heard


class AnalyticsRuns:
    def __init__(self) -> None:
        self._now: dict[str, tuple[str, float, float]] = {}  # camera → (run, first heard, last heard)
        self._changes: dict[str, RunChange] = {}

    def heard(self, camera: str, run: str, t: float) -> None:
        current = self._now.get(camera)
        if current is None or current[0] == run:
            self._now[camera] = (run, t if current is None else current[1], t)
        elif run != getattr(self._changes.get(camera), "before", None):  # a late record of the run replaced: ignored
            self._changes[camera] = RunChange(run, t, current[0], current[2])
            self._now[camera] = (run, t, t)

    def replaced(self) -> dict[str, RunChange]:
        """Cameras whose analytics run changed since they were first heard, with the latest change."""
        return dict(self._changes)
