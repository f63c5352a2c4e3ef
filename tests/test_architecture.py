"""The import contract (pyproject's [tool.importlinter], docs/architecture.md) holds, and it can fail."""

from __future__ import annotations

import pytest

from tests.architecture import lint, package_graph, source_tree

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def tree(tmp_path):
    return source_tree(tmp_path)


def test_packages_import_only_downward(tree):
    result = lint(tree)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout


def test_models_and_analytics_stand_on_config_and_core_only(tree):
    graph = dict(line.split(" -> ") for line in package_graph(tree).splitlines() if " -> " in line)
    assert set(graph["models"].split(", ")) <= {"config", "core"}
    assert set(graph["analytics"].split(", ")) <= {"config", "core"}
    assert graph["core"] == "-"


@pytest.mark.parametrize(("module", "source", "broken"), [
    ("core/back_edge.py", "from matakota.serve import api\n", "matakota.core.back_edge -> matakota.serve.api"),
    ("analytics/back_edge.py", "from matakota.video import decode\n",
     "matakota.analytics.back_edge -> matakota.video.decode"),
    ("video/back_edge.py", "import ray\n", "matakota.video.back_edge -> ray"),
    ("newpackage/__init__.py", "", "matakota.newpackage"),  # every package must have a layer
])
def test_a_back_edge_breaks_the_contract(tree, module, source, broken):
    path = tree / "matakota" / module
    path.parent.mkdir(exist_ok=True)
    path.write_text(source)
    result = lint(tree)
    assert result.returncode == 1
    assert broken in result.stdout, result.stdout
