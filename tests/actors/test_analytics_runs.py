"""The EventSink hears each camera's analytics run from its counts: a new run is a lost one's replacement; a late
record of the run replaced changes nothing."""

from matakota.actors.analytics_runs import AnalyticsRuns, RunChange


def test_a_new_run_replaces_the_one_before_and_late_records_of_it_change_nothing():
    runs = AnalyticsRuns()
    runs.heard("cam-1", "a", 100.0)
    runs.heard("cam-1", "a", 160.0)
    runs.heard("cam-2", "x", 100.0)
    assert runs.replaced() == {}
    runs.heard("cam-1", "b", 400.0)
    runs.heard("cam-1", "a", 401.0)  # the dead shard's last batch, late
    runs.heard("cam-1", "b", 460.0)
    assert runs.replaced() == {"cam-1": RunChange("b", 400.0, "a", 160.0)}
