"""A no-parking sign or evidence key that cannot be used stops `matakota check` with the file, the YAML path and
the reason (exit 2), never a traceback."""

from __future__ import annotations

from matakota.cluster import cli

BAD = """\
fleet:
  shards:
    evidence: {key_env: "bad name"}
  cameras:
    - id: cam-1
      url: rtsp://10.0.0.1/stream
      analytics:
        zones: [{name: z, kind: no_parking, polygon: [[0, 0], [10, 0], [10, 10]]}]
        rules: [{type: parking, zone: z, hours: "6-18", days: [monday], plate_reads: 50}]
"""


def test_bad_signs_and_keys_are_named_by_file_and_field(tmp_path, capsys):
    path = tmp_path / "fleet.yaml"
    path.write_text(BAD)
    assert cli.main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    for field in ("fleet.shards.evidence.key_env", "fleet.cameras[0].analytics.rules[0].parking.hours: hours '6-18'",
                  "fleet.cameras[0].analytics.rules[0].parking.days[0]",
                  "fleet.cameras[0].analytics.rules[0].parking.plate_reads"):
        assert f"{path}: {field}" in err, err
    assert "Traceback" not in err
