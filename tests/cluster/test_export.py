"""`matakota export` as a user (or the CronJob) runs it: packages on disk, published to a CKAN portal once per
period without duplicates, and one clear line when the portal refuses the key or cannot be reached."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from matakota.cluster.cli import main
from matakota.core.calendar import parse_period, zone
from matakota.store import open_store, split_evidence
from tests.ckan_portal import FakeCkan
from tests.network import free_port
from tests.outputs.test_opendata import evidence_laden_events, minute, wib

pytestmark = pytest.mark.timeout(60)
KEY = "ckan-key-for-tests"
WIB = zone("Asia/Jakarta")


@pytest.fixture
def portal():
    fake = FakeCkan(api_key=KEY, organization="kota-semarang")
    yield fake
    fake.close()


def write_config(tmp_path, ckan_url: str):
    store = tmp_path / "matakota.db"
    events, snapshots = split_evidence(evidence_laden_events())
    with open_store(store) as s:
        s.write(events=events, snapshots=snapshots, counts=[minute(wib("2026-11-05T23:30"), visits=3, occupancy_max=2, occupancy_mean=1.0),
                        minute(wib("2026-11-06T10:00"), visits=4, occupancy_max=1, occupancy_mean=1.0)])
    config = tmp_path / "matakota.yaml"
    config.write_text(f"""\
store: {{url: {store}}}
reports:
  timezone: Asia/Jakarta
  open_data:
    ckan_url: {ckan_url}
    organization: kota-semarang
    api_key_env: TEST_CKAN_KEY
    timeout_s: 5
""")
    return config


def export(config, out, *extra):
    return main(["export", "--config", str(config), "--out", str(out), *extra])


@pytest.mark.parametrize(("text", "name"), [
    ("yesterday", "2026-12-31"),  # 00:30 WIB on 1 January is still 31 December in UTC; yesterday is the 31st
    ("last-month", "2026-12"),
    ("last-week", "2026-W52"),
    ("2026-11", "2026-11"),
])
def test_periods_are_resolved_in_the_configured_time_zone(text, name):
    now = datetime.fromisoformat("2027-01-01T00:30").replace(tzinfo=WIB).timestamp()
    assert parse_period(text, WIB, now).name == name


def test_export_writes_a_package_per_dataset(tmp_path, capsys):
    config = write_config(tmp_path, "http://127.0.0.1:9")
    assert export(config, tmp_path / "out", "--dataset", "visits", "events", "--period", "2026-11-05") == 0
    printed = capsys.readouterr().out.split()
    assert printed == [str(tmp_path / "out" / name / "datapackage.json")
                       for name in ("matakota-visits-2026-11-05", "matakota-events-2026-11-05")]
    visits = (tmp_path / "out" / "matakota-visits-2026-11-05" / "matakota-visits-2026-11-05.csv").read_text()
    assert visits.splitlines()[1].startswith("simpang-lima,,2026-11-05,3,")  # 23:30 WIB: the 5th


def test_publish_creates_once_then_updates_the_periods_resource(tmp_path, portal, monkeypatch, capsys):
    monkeypatch.setenv("TEST_CKAN_KEY", KEY)
    config = write_config(tmp_path, portal.url)
    args = ("--dataset", "visits", "--period", "2026-11", "--publish")
    assert export(config, tmp_path / "first", *args) == 0
    assert portal.actions == ["package_show", "package_create", "resource_create"]
    [dataset] = portal.datasets.values()
    assert (dataset["name"], dataset["organization"]["name"], dataset["license_id"]) == (
        "matakota-visits", "kota-semarang", "cc-by")
    [resource] = dataset["resources"]
    csv_file = tmp_path / "first" / "matakota-visits-2026-11" / "matakota-visits-2026-11.csv"
    assert portal.uploads[resource["id"]] == ("matakota-visits-2026-11.csv", csv_file.read_bytes())
    assert resource["name"] == "matakota-visits-2026-11" and resource["period"] == "2026-11"
    assert json.loads(resource["schema"])["fields"][0]["name"] == "site"
    assert "resource matakota-visits-2026-11 created" in capsys.readouterr().out

    assert export(config, tmp_path / "again", *args) == 0  # the same period again: updated in place
    assert portal.actions[3:] == ["package_show", "resource_patch"]
    assert [r["id"] for r in portal.datasets["matakota-visits"]["resources"]] == [resource["id"]]
    assert "updated" in capsys.readouterr().out

    assert export(config, tmp_path / "next", "--dataset", "visits", "--period", "2026-12", "--publish") == 0
    names = [r["name"] for r in portal.datasets["matakota-visits"]["resources"]]
    assert names == ["matakota-visits-2026-11", "matakota-visits-2026-12"]
    assert list(portal.datasets) == ["matakota-visits"]  # one dataset, updated every period


def test_the_datasets_description_follows_the_config_and_another_organisations_dataset_is_left_alone(
        tmp_path, portal, monkeypatch, capsys):
    monkeypatch.setenv("TEST_CKAN_KEY", KEY)
    config = write_config(tmp_path, portal.url)
    args = ("--dataset", "visits", "--publish")
    assert export(config, tmp_path / "first", *args, "--period", "2026-11") == 0
    assert export(config, tmp_path / "again", *args, "--period", "2026-12") == 0
    assert "package_patch" not in portal.actions  # nothing changed: the dataset is left as it is
    config.write_text(config.read_text().replace("    timeout_s: 5\n", "    timeout_s: 5\n    licence: CC0-1.0\n"
                                                 "    producer: Dinas Komunikasi dan Informatika\n"))
    assert export(config, tmp_path / "licensed", *args, "--period", "2026-12") == 0
    dataset = portal.datasets["matakota-visits"]
    assert portal.actions[-3:] == ["package_show", "package_patch", "resource_patch"]
    assert dataset["license_id"] == "cc-zero" and dataset["author"] == "Dinas Komunikasi dan Informatika"
    assert len(dataset["resources"]) == 2  # its resources kept

    dataset["organization"]["name"] = "dinas-lain"  # a dataset of that name that another organisation owns
    assert export(config, tmp_path / "theirs", *args, "--period", "2026-12") == 1
    [line] = capsys.readouterr().err.strip().splitlines()
    assert "has a dataset matakota-visits of organisation 'dinas-lain', not 'kota-semarang'" in line
    assert portal.actions[-1] == "package_show"  # nothing written to it


def test_a_wrong_api_key_is_one_clear_line_and_a_failure(tmp_path, portal, monkeypatch, capsys):
    monkeypatch.setenv("TEST_CKAN_KEY", "not-the-key")
    config = write_config(tmp_path, portal.url)
    assert export(config, tmp_path / "out", "--dataset", "visits", "events", "--period", "2026-11",
                  "--publish") == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [(f"matakota export: the portal {portal.url} refused the API key (package_show: not authorised): "
                    "check the key and that its user may edit the organisation's datasets")]
    assert portal.datasets == {}


def test_an_unreachable_portal_says_so(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TEST_CKAN_KEY", KEY)
    url = f"http://127.0.0.1:{free_port()}"
    config = write_config(tmp_path, url)
    assert export(config, tmp_path / "out", "--dataset", "events", "--period", "2026-11", "--publish") == 1
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"matakota export: the portal {url} is unreachable (ConnectionError)")
    assert (tmp_path / "out" / "matakota-events-2026-11" / "datapackage.json").is_file()  # still written


@pytest.mark.parametrize(("env", "config_text", "message"), [
    ({}, "", "--publish needs the portal's API key in TEST_CKAN_KEY"),
    ({"TEST_CKAN_KEY": KEY}, "reports: {open_data: {api_key_env: TEST_CKAN_KEY}}\n",
     "--publish needs reports.open_data.ckan_url and reports.open_data.organization"),
])
def test_publish_without_portal_or_key_is_a_usage_error(tmp_path, monkeypatch, capsys, env, config_text, message):
    monkeypatch.delenv("TEST_CKAN_KEY", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    config = write_config(tmp_path, "http://127.0.0.1:9")
    if config_text:
        config.write_text(f"store: {{url: {tmp_path / 'matakota.db'}}}\n{config_text}")
    assert export(config, tmp_path / "out", "--dataset", "visits", "--period", "2026-11", "--publish") == 2
    assert message in capsys.readouterr().err


def test_a_bad_period_names_what_is_accepted(tmp_path, capsys):
    config = write_config(tmp_path, "http://127.0.0.1:9")
    assert export(config, tmp_path / "out", "--dataset", "visits", "--period", "November") == 2
    assert "or one of yesterday, last-week, last-month" in capsys.readouterr().err


def test_a_month_of_many_sites_over_the_stores_cap_is_exported_whole(tmp_path, monkeypatch, capsys):
    import csv

    from matakota.analytics.counts import CountRecord
    from matakota.store import sql

    config = write_config(tmp_path, "http://127.0.0.1:9")
    with open_store(tmp_path / "matakota.db") as s:  # 5 sites, each seen on 4 days of November
        s.write([], [CountRecord(f"cam-{site}", f"site-{site}", "zone", "plaza", wib(f"2026-11-{day:02d}T12:00"),
                                 wib(f"2026-11-{day:02d}T12:01"), 60, 1, 1.0, site + day)
                     for site in range(5) for day in (1, 9, 17, 30)])
    monkeypatch.setattr(sql, "MAX_COUNT_ROWS", 3)  # a day of 5 sites is over it too: read in batches of sites
    assert export(config, tmp_path / "out", "--dataset", "visits", "--period", "2026-11") == 0
    capsys.readouterr()
    package = tmp_path / "out" / "matakota-visits-2026-11" / "matakota-visits-2026-11.csv"
    rows = {(r["site"], r["date"]): int(r["visits"]) for r in csv.DictReader(package.open())}
    expected = {(f"site-{site}", f"2026-11-{day:02d}"): site + day for site in range(5) for day in (1, 9, 17, 30)}
    assert {k: v for k, v in rows.items() if k[0].startswith("site-")} == expected
