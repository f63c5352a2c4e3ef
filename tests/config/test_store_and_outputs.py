from __future__ import annotations

import pytest
from pydantic import ValidationError

from matakota.config import ConfigError, MqttConfig, OutputsConfig, StoreConfig, WebhookConfig, load_config


def test_defaults_are_a_local_sqlite_file():
    config = StoreConfig()
    assert config.url.endswith("matakota.db") and not config.is_postgres
    assert config.retention_s == 30 * 86400
    assert not OutputsConfig().mqtt.enabled and OutputsConfig().webhooks == ()


@pytest.mark.parametrize("model, fields, field", [
    (StoreConfig, {"url": "mysql://x"}, "url"),
    (StoreConfig, {"retention_days": 0}, "retention_days"),
    (StoreConfig, {"extra": 1}, "extra"),
    (MqttConfig, {"prefix": "a/+/b"}, "prefix"),
    (MqttConfig, {"port": 0}, "port"),
    (WebhookConfig, {"url": "ftp://x"}, "url"),
    (WebhookConfig, {"url": "http://x", "secret_env": "lower-case"}, "secret_env"),
    (WebhookConfig, {"url": "http://x", "event_types": ["fire"]}, "event_types"),
])
def test_bad_values_name_the_field(model, fields, field):
    with pytest.raises(ValidationError) as caught:
        model(**fields)
    assert field in str(caught.value)


def test_postgres_dsn_is_kept_out_of_repr():
    config = StoreConfig(url="postgresql://u:pw@db/matakota")
    assert config.is_postgres and "pw" not in repr(config)


def test_the_store_url_can_come_from_the_environment_never_the_file():
    config = StoreConfig(url_env="MATAKOTA_STORE_URL")
    assert config.resolved_url({"MATAKOTA_STORE_URL": "postgresql://app:s3cret@matakota-db-rw:5432/app"}) == \
        "postgresql://app:s3cret@matakota-db-rw:5432/app"
    assert StoreConfig(url="/data/m.db").resolved_url({"MATAKOTA_STORE_URL": "ignored"}) == "/data/m.db"
    with pytest.raises(ValueError, match="MATAKOTA_STORE_URL is not set"):
        config.resolved_url({})
    with pytest.raises(ValueError, match="got scheme 'mysql'") as caught:
        config.resolved_url({"MATAKOTA_STORE_URL": "mysql://app:s3cret@db/app"})
    assert "s3cret" not in str(caught.value)
    with pytest.raises(ValidationError, match="url_env"):
        StoreConfig(url_env="not an env var")


def test_plates_go_to_a_webhook_only_over_https_and_a_plain_one_is_refused_by_file_and_field(tmp_path):
    assert WebhookConfig(url="https://dishub.example/violations", plates=True, secret_env="DISHUB").plates
    assert not WebhookConfig(url="https://dishub.example/violations").plates  # plates are opt-in
    path = tmp_path / "matakota.yaml"
    path.write_text("outputs:\n  webhooks:\n    - url: https://portal.example/events\n"
                    "    - url: http://dishub.example/violations\n      plates: true\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert message.startswith(str(path)) and "outputs.webhooks[1].plates" in message and "https" in message


def test_plates_go_only_signed():
    """The agency must be able to tell the plates came from us: an unsigned plate webhook is refused."""
    with pytest.raises(ValidationError, match="signed only: set secret_env"):
        WebhookConfig(url="https://dishub.example/violations", plates=True)
