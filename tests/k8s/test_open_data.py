"""The daily open-data CronJob: `matakota export --publish` for yesterday, in the configured time zone, with the
store and the portal's key from Secrets, and a way through the database's NetworkPolicy."""

from __future__ import annotations

import pytest
import yaml

from matakota.cluster.cli import parser
from matakota.config import parse_config
from tests.k8s.manifests import CONFIG_PATH, OVERLAYS, build, fleet_config_text, one


def cronjob_pod(docs) -> dict:
    return one(docs, "CronJob", "matakota-open-data")["spec"]["jobTemplate"]["spec"]["template"]


def selects(selector: dict, labels: dict) -> bool:
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_cronjob_publishes_yesterday_daily_in_the_reports_time_zone(overlay):
    docs = build(overlay)
    cronjob = one(docs, "CronJob", "matakota-open-data")["spec"]
    config = parse_config(yaml.safe_load(fleet_config_text(docs)))
    assert cronjob["timeZone"] == config.reports.timezone
    _minute, hour, *every_day = cronjob["schedule"].split()
    assert every_day == ["*", "*", "*"] and int(hour) >= 1, "daily, after local midnight"
    assert cronjob["concurrencyPolicy"] == "Forbid"
    [container] = cronjob_pod(docs)["spec"]["containers"]
    command = container["command"]
    assert command[:2] == ["matakota", "export"]
    args = parser().parse_args(command[1:])  # the real CLI accepts it
    assert (args.period, args.publish, str(args.config)) == ("yesterday", True, CONFIG_PATH)
    assert set(args.dataset) == {"visits", "counts", "events"}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_cronjob_reads_the_store_and_the_api_key_from_secrets(overlay):
    docs = build(overlay)
    config = parse_config(yaml.safe_load(fleet_config_text(docs)))
    pod = cronjob_pod(docs)["spec"]
    [container] = pod["containers"]
    env = {e["name"]: e.get("valueFrom", {}).get("secretKeyRef") for e in container["env"]}
    assert env[config.store.url_env] == {"name": "matakota-db-app", "key": "uri"}
    assert env[config.reports.open_data.api_key_env] == {"name": "matakota-open-data", "key": "api_key"}
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes[mounts["/etc/matakota"]]["configMap"]["name"] == "matakota-config"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_export_reaches_the_database_but_not_ray(overlay):
    docs = build(overlay)
    labels = cronjob_pod(docs)["metadata"]["labels"]
    db = one(docs, "NetworkPolicy", "matakota-db")["spec"]["ingress"][0]
    assert any(selects(peer["podSelector"], labels) for peer in db["from"])
    ray = one(docs, "NetworkPolicy", "matakota-ray-internal")["spec"]
    assert not selects(ray["podSelector"], labels) and not any(
        selects(peer["podSelector"], labels) for peer in ray["ingress"][0]["from"])


def test_production_publishes_to_its_portal_and_dev_is_suspended():
    production = build("production")
    assert one(production, "CronJob")["spec"]["suspend"] is False
    open_data = parse_config(yaml.safe_load(fleet_config_text(production))).reports.open_data
    assert open_data.ckan_url.startswith("https://") and open_data.organization
    assert one(build("dev"), "CronJob")["spec"]["suspend"] is True
