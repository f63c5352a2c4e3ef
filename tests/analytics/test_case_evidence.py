"""Evidence packages: what each kind of tampering looks like to `verify_package` and to `matakota evidence verify`,
and a missing or unusable key as a clear error naming where it was looked for."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest

from matakota.analytics.case_evidence import (
    MANIFEST,
    SIGNATURE,
    CaseFacts,
    arrival_photo,
    build_package,
    case_files,
    manifest,
    package_zip,
    signature,
    verify_package,
)
from matakota.cluster import cli

KEY = b"k" * 32
FACTS = CaseFacts("ev-1", "inc-1", "cam-1", "simpang-lima", {"lat": -6.99, "lon": 110.42}, "bahu-jalan", "car",
                  "H 1234 AB", 0.91, 1_796_094_000.0, 1_796_094_300.0, {"limit_s": 300.0})


@pytest.fixture(scope="module")
def files() -> dict[str, bytes]:
    frame = np.random.default_rng(0).integers(0, 255, (432, 768, 3), dtype=np.uint8)
    pictures = case_files(FACTS, frame, (100, 100, 300, 300), FACTS.limit_t, arrival_photo(frame), (100, 100, 300, 300),
                          FACTS.arrival_t,
                          np.zeros((20, 60, 3), np.uint8))
    return build_package(FACTS, pictures, KEY, "2026-12")


def rezip(files: dict[str, bytes]) -> bytes:
    return package_zip(files)


def test_an_untouched_package_verifies_and_names_its_case(files):
    check = verify_package(rezip(files), KEY)
    assert check.ok and check.manifest["plate"] == "H 1234 AB" and check.manifest["key_id"] == "2026-12"
    assert check.manifest["arrival"] == "2026-12-01 10:00:00 WIB"


def _rewritten_manifest(files):
    """A forger's package: a photo replaced and the manifest's digests recomputed, without the key."""
    forged = {**files, "limit.jpg": files["limit.jpg"][:-10] + b"\x00" * 10}
    body = json.loads(files[MANIFEST])
    pictures = {k: v for k, v in forged.items() if k not in (MANIFEST, SIGNATURE)}
    new_manifest = manifest(FACTS, pictures, body["key_id"])
    return {**forged, MANIFEST: new_manifest, SIGNATURE: signature(new_manifest, b"not-the-key" * 3, "2026-12")}


@pytest.mark.parametrize(("tamper", "problem"), [
    (lambda f: {**f, "plate.jpg": f["plate.jpg"] + b"\x00"}, "plate.jpg: SHA-256 does not match"),
    (lambda f: {k: v for k, v in f.items() if k != "arrival.jpg"}, "arrival.jpg: listed in the manifest but missing"),
    (lambda f: {**f, "extra.jpg": b"x"}, "extra.jpg: not listed"),
    (lambda f: {**f, MANIFEST: f[MANIFEST].replace(b"H 1234 AB", b"H 1234 AC")}, "manifest.json: its SHA-256"),
    (_rewritten_manifest, "manifest.json: HMAC does not match"),
    (lambda f: {k: v for k, v in f.items() if k != SIGNATURE}, "signature.json is missing"),
])
def test_tampering_is_detected_and_named(files, tamper, problem):
    check = verify_package(rezip(tamper(files)), KEY)
    assert not check.ok and any(problem in p for p in check.problems), check.problems


def test_another_key_does_not_verify(files):
    assert "HMAC does not match" in " ".join(verify_package(rezip(files), b"z" * 32).problems)


def test_an_unsigned_package_never_passes(files):
    unsigned = build_package(FACTS, {k: v for k, v in files.items() if k.endswith(".jpg")}, None, "none")
    assert "unsigned" in " ".join(verify_package(rezip(unsigned), KEY).problems)


def test_not_a_zip():
    assert "not a readable zip" in verify_package(b"PK\x03\x04 broken", KEY).problems[0]


def test_the_cli_names_a_missing_key_and_a_missing_file(tmp_path, files, monkeypatch, capsys):
    package = tmp_path / "case.zip"
    package.write_bytes(rezip(files))
    monkeypatch.delenv("NO_SUCH_KEY", raising=False)
    assert cli.main(["evidence", "verify", str(package), "--key-env", "NO_SUCH_KEY"]) == 2
    assert "evidence.key_env NO_SUCH_KEY is not set" in capsys.readouterr().err
    key_file = tmp_path / "key"
    key_file.write_bytes(KEY + b"\n")
    assert cli.main(["evidence", "verify", str(package), "--key-file", str(key_file)]) == 0
    assert cli.main(["evidence", "verify", str(tmp_path / "nope.zip"), "--key-file", str(key_file)]) == 2
    assert "nope.zip: no such file" in capsys.readouterr().err
    key_file.write_bytes(b"short")
    assert cli.main(["evidence", "verify", str(package), "--key-file", str(key_file)]) == 2
    assert f"evidence.key_file {key_file}: the key must be at least 16 bytes" in capsys.readouterr().err


def test_the_same_case_zips_to_the_same_bytes(files):
    assert rezip(files) == rezip(dict(reversed(list(files.items()))))
    with zipfile.ZipFile(io.BytesIO(rezip(files))) as archive:
        assert sorted(archive.namelist()) == sorted(files)


def test_a_zip_holding_a_photo_twice_is_refused(files):
    """A viewer may show one copy and a checker read the other: such a package is refused, whichever copy is genuine."""
    import warnings

    out = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(out, "w") as archive:
        warnings.simplefilter("ignore")  # zipfile warns of the duplicate name, and writes it
        archive.writestr("limit.jpg", b"\xff\xd8 another photo")
        for name, data in sorted(files.items()):
            archive.writestr(name, data)
    check = verify_package(out.getvalue(), KEY)
    assert not check.ok and check.problems == ("limit.jpg: in the zip more than once (refused: a package holds each "
                                               "file once)",)


@pytest.mark.parametrize(("name", "body"), [
    (MANIFEST, {"files": ["limit.jpg"]}),
    (MANIFEST, {"files": {"limit.jpg": "0" * 64}}),
    (MANIFEST, ["files"]),
    (SIGNATURE, ["manifest_sha256"]),
])
def test_a_manifest_of_another_shape_is_refused_with_a_message(files, name, body, tmp_path, capsys, monkeypatch):
    odd = {**files, name: json.dumps(body).encode()}
    check = verify_package(rezip(odd), KEY)
    assert not check.ok and "is not the expected JSON" in check.problems[0]
    package = tmp_path / "odd.zip"
    package.write_bytes(rezip(odd))
    monkeypatch.setenv("MATAKOTA_TEST_CHECK_KEY", KEY.decode())
    assert cli.main(["evidence", "verify", str(package), "--key-env", "MATAKOTA_TEST_CHECK_KEY"]) == 1  # no traceback
    assert "is not the expected JSON" in capsys.readouterr().err
