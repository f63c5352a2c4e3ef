"""Tokens: the file is read at start-up (every entry point), stored hashed, and enforced on every route."""

from __future__ import annotations

import httpx
import pytest
from fastapi import HTTPException

from matakota.cluster import bootstrap, cli
from matakota.config import Config, ConfigError
from matakota.core import settings as settings_module
from matakota.serve import auth
from matakota.serve.app import build_app
from tests.conftest import ADMIN, ADMIN_TOKEN, READ, READ_TOKEN


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("read " + "x" * 20 + "\nwrite " + "y" * 20 + "\n", ":2: expected `SCOPES TOKEN"),
        ("# comment\n\nadmin short\n", ":3: token too short"),
        ("read a-token-of-twenty-chars another-token-by-mistake\n", ":1: field 3 is not one of the options"),
        ("read " + "x" * 20 + " name=a\nadmin " + "y" * 20 + " name=a\n", "token names must be unique"),
        ("read " + "x" * 20 + " expires=soon\n", ":1: expires must be an ISO-8601 date or time"),
        ("# only comments\n", "no tokens"),
    ],
    ids=["unknown-scope", "short-token", "three-fields", "repeated-name", "bad-expiry", "empty"],
)
def test_a_bad_tokens_file_names_file_and_line_never_a_token(text, message):
    with pytest.raises(auth.TokenFileError) as error:
        auth.Tokens.parse(text, "/etc/matakota/tokens")
    assert str(error.value).startswith("/etc/matakota/tokens") and message in str(error.value)
    assert "x" * 20 not in str(error.value) and "token-by-mistake" not in str(error.value)
    assert isinstance(error.value, ConfigError)  # the CLI answers it with exit code 2


def test_tokens_are_kept_as_digests_and_travel_as_digests():
    tokens = auth.Tokens.parse(f"read {READ_TOKEN}\nadmin {ADMIN_TOKEN}\n")
    exported = tokens.export()
    assert READ_TOKEN not in repr(exported) and ADMIN_TOKEN not in repr(vars(tokens))
    again = auth.Tokens.from_export(exported)
    assert again.authenticate(READ_TOKEN) == auth.Caller("line 1", frozenset({"read"}))
    assert again.authenticate(ADMIN_TOKEN).scopes == {"read", "operator", "admin"}
    assert again.authenticate(READ_TOKEN + "x") is None


def test_a_token_line_names_the_caller_its_scopes_owners_sites_and_expiry():
    text = (f"# today's format still works\nread {READ_TOKEN}\n"
            f"operator,enforcement {ADMIN_TOKEN} name=dishub-ops owners=dishub,bpbd sites=kota-lama "
            "expires=2027-06-30\n")
    tokens = auth.Tokens.from_export(auth.Tokens.parse(text).export())  # as an Api replica gets them
    caller = tokens.authenticate(ADMIN_TOKEN, now=1_780_000_000)  # 2026-05-28
    assert caller == auth.Caller("dishub-ops", frozenset({"read", "operator", "enforcement"}),
                                 frozenset({"dishub", "bpbd"}), frozenset({"kota-lama"}))
    assert caller.limited and caller.reaches("kota-lama", "bpbd")
    assert not caller.reaches("kota-lama", "city") and not caller.reaches("simpang-lima", "dishub")
    assert not tokens.authenticate(READ_TOKEN).limited
    end_of_june_30 = 1_814_400_000  # 2027-07-01T00:00Z: a date is valid through that day
    assert tokens.authenticate(ADMIN_TOKEN, now=end_of_june_30 - 1).name == "dishub-ops"
    with pytest.raises(HTTPException) as expired:
        tokens.authenticate(ADMIN_TOKEN, now=end_of_june_30)
    assert expired.value.status_code == 401 and "'dishub-ops' expired" in expired.value.detail


@pytest.fixture
def tokens_env(monkeypatch, tmp_path):
    """Point MATAKOTA_TOKENS_FILE at a file of the test's choosing (settings are cached: clear them)."""

    def use(text: str | None):
        path = tmp_path / "tokens"
        if text is not None:
            path.write_text(text)
        monkeypatch.setenv("MATAKOTA_TOKENS_FILE", str(path))
        settings_module.settings.cache_clear()
        auth.configured_tokens.cache_clear()
        return path

    yield use
    monkeypatch.undo()
    settings_module.settings.cache_clear()
    auth.configured_tokens.cache_clear()


def test_the_application_builder_reads_the_tokens_file_and_hands_the_digests_to_the_api(tokens_env):
    tokens_env(f"read {READ_TOKEN}\n")
    api = build_app(Config())._bound_deployment
    assert auth.Tokens.from_export(api.init_args[-1]).authenticate(READ_TOKEN).scopes == {"read"}
    assert READ_TOKEN not in repr(api.init_args)
    # the ingress's own queue is bounded and its 503s say when to retry
    assert api.max_queued_requests > 0 and api.backpressure_config.retry_after_s >= 1
    assert api.max_ongoing_requests > 32  # more than the live-stream cap: open streams cannot starve it


@pytest.mark.parametrize("text", ["read tooshort\n", None], ids=["invalid", "missing"])
def test_the_application_builder_refuses_a_bad_tokens_file(tokens_env, text):
    path = tokens_env(text)
    with pytest.raises(auth.TokenFileError, match=str(path)):
        build_app(Config())


def test_an_api_other_machines_reach_needs_tokens_unless_told_otherwise(tokens_env, monkeypatch):
    monkeypatch.delenv("MATAKOTA_TOKENS_FILE")
    auth.configured_tokens.cache_clear()
    settings_module.settings.cache_clear()
    build_app(Config())  # 127.0.0.1: only this machine, open is fine (local runs)
    exposed = Config.model_validate({"api": {"host": "0.0.0.0"}})
    with pytest.raises(auth.TokenFileError, match="0.0.0.0 is reachable from other machines"):
        build_app(exposed)
    build_app(Config.model_validate({"api": {"host": "0.0.0.0", "allow_anonymous": True}}))  # said so: served open
    assert Config.model_validate({"api": {"host": "::1"}}).api.loopback_only


class _NoServe:
    """Stands in for ray.serve in bootstrap.deploy: the app is built (and the tokens read), nothing deployed."""

    def start(self, **_):
        pass

    def run(self, app, **_):
        raise AssertionError("a bad tokens file must stop start-up before anything is deployed")


@pytest.mark.parametrize("argv", [["serve", "--duration", "0"], ["demo", "--cameras", "1", "--duration", "1"],
                                  ["up", "{config}", "--duration", "1"]], ids=["serve", "demo", "up"])
def test_every_entry_point_stops_on_a_bad_tokens_file_with_file_and_line(tokens_env, monkeypatch, tmp_path, capsys,
                                                                         argv):
    path = tokens_env(f"read {READ_TOKEN}\nadmin short\n")
    config = tmp_path / "fleet.yaml"
    config.write_text("api: {port: 8999}\n")
    monkeypatch.setattr(bootstrap, "start_ray", lambda *a, **k: None)
    monkeypatch.setattr(bootstrap, "shutdown", lambda: None)
    monkeypatch.setattr(bootstrap, "serve", _NoServe())
    assert cli.main([part.format(config=config) for part in argv]) == 2
    err = capsys.readouterr().err
    assert f"{path}:2: token too short" in err and "Traceback" not in err
    assert READ_TOKEN not in err


# ---- the running service (tests/conftest.py: tokens READ and ADMIN enforced) ----

ROUTES = [
    ("GET", "/v1/cameras", "read"), ("GET", "/v1/fleet", "read"), ("GET", "/v1/events", "read"),
    ("GET", "/v1/counts?site=x&from=0&to=1", "read"), ("GET", "/v1/levels?camera=x&from=0&to=1", "read"),
    ("GET", "/v1/events/nope", "read"),
    ("GET", "/v1/events/nope/snapshot", "read"), ("GET", "/v1/events/nope/snapshot?crop=true", "read"),
    ("GET", "/v1/cameras/x/detections/latest", "read"), ("GET", "/v1/events/stream", "read"),
    ("POST", "/v1/detect", "read"),
    ("POST", "/v1/cameras", "admin"), ("PATCH", "/v1/cameras/x", "admin"), ("DELETE", "/v1/cameras/x", "admin"),
    ("GET", "/v1/events/nope/evidence.zip", "enforcement"), ("GET", "/v1/parking/cases?day=2026-12-01", "enforcement"),
]


@pytest.mark.timeout(120)
@pytest.mark.parametrize(("method", "path", "scope"), ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
def test_every_route_needs_a_token_and_the_right_scope(api_url, method, path, scope):
    call = lambda headers: httpx.request(method, api_url + path, headers=headers, json={}, timeout=30)  # noqa: E731
    missing = call({})
    assert missing.status_code == 401 and missing.headers["WWW-Authenticate"] == "Bearer"
    assert call({"Authorization": "Bearer " + "z" * 40}).status_code == 401
    assert call({"Authorization": f"Bearer {READ_TOKEN}x"}).status_code == 401
    if scope == "admin":
        refused = call(READ)
        assert refused.status_code == 403 and "'admin'" in refused.json()["detail"]
        assert call(ADMIN).status_code not in (401, 403)
    elif scope == "enforcement":  # plates and evidence packages: neither read nor admin tokens
        for headers in (READ, ADMIN):
            refused = call(headers)
            assert refused.status_code == 403 and "'enforcement'" in refused.json()["detail"]
    elif "stream" not in path:  # the stream is checked with a token elsewhere (it stays open)
        assert call(READ).status_code not in (401, 403)


@pytest.mark.timeout(60)
def test_health_is_open_and_the_schema_declares_auth_errors(api_url):
    assert httpx.get(f"{api_url}/healthz", timeout=30).status_code == 200
    schema = httpx.get(f"{api_url}/openapi.json", timeout=30).json()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if path != "/healthz" and method in ("get", "post", "patch", "delete"):
                assert {"401", "403"} <= set(operation["responses"]), (method, path)


@pytest.mark.timeout(60)
def test_snapshots_need_a_read_token(api_url):
    assert httpx.get(f"{api_url}/v1/events/e1/snapshot", timeout=30).status_code == 401
    assert httpx.get(f"{api_url}/v1/events/e1/snapshot", params={"access_token": READ_TOKEN}, timeout=30).status_code == 401
    assert httpx.get(f"{api_url}/v1/events/e1/snapshot", headers=READ, timeout=30).status_code == 404


def test_a_changed_tokens_file_is_re_read_and_a_broken_change_keeps_the_previous_tokens(tmp_path, monkeypatch):
    monkeypatch.setattr(auth, "RELOAD_CHECK_S", 0.0)
    path = tmp_path / "tokens"
    path.write_text(f"read {READ_TOKEN} name=old\n")
    source = auth.TokenFile(path)
    assert source.current().authenticate(READ_TOKEN).name == "old"
    path.write_text(f"admin {ADMIN_TOKEN} name=rotated\n")  # the old token revoked, a new one added
    assert source.current().authenticate(READ_TOKEN) is None
    assert source.current().authenticate(ADMIN_TOKEN).name == "rotated"
    path.write_text("admin short\n")  # a bad edit: logged, the tokens in force stay
    assert source.current().authenticate(ADMIN_TOKEN).name == "rotated"
