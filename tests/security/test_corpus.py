"""The regression corpus (tests/security/corpus/): every hostile URL and camera config found so far, replayed."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from matakota.actors.camera_runtime import runnable
from matakota.config import SourceConfig

CORPUS = Path(__file__).parent / "corpus"
URLS = yaml.safe_load((CORPUS / "urls.yaml").read_text())
CONFIGS = yaml.safe_load((CORPUS / "configs.yaml").read_text())


@pytest.mark.parametrize("case", URLS, ids=lambda case: repr(case["url"])[:48])
def test_hostile_urls(case):
    """Classified once, as a reader's source config does it (the API, the supervisor and the shard alike)."""
    if "kind" in case:
        assert SourceConfig(url=case["url"]).kind.value == case["kind"]
        return
    with pytest.raises(ValueError, match=case["refused"]) as caught:
        SourceConfig(url=case["url"])
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize("case", CONFIGS, ids=lambda case: case["why"])
def test_hostile_camera_configs_are_refused_before_they_are_saved(case):
    with pytest.raises(ValueError, match=case["refused"]):
        runnable(case["camera"], allow_files=False)
