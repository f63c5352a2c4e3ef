"""The images install what pyproject.toml asks for, pinned, with the code inside and no root user."""

from __future__ import annotations

import re
import tomllib

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.architecture import package_dirs
from tests.k8s.manifests import ROOT

DOCKER = ROOT / "k8s" / "docker"
VARIANTS = {"cpu": ("onnxruntime", "onnxruntime-gpu"), "gpu": ("onnxruntime-gpu", "onnxruntime")}


def pins(variant: str) -> dict[str, str]:
    pinned = {}
    for line in (DOCKER / f"requirements-{variant}.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            requirement = Requirement(line)
            [spec] = requirement.specifier
            assert spec.operator == "==", f"{line}: not pinned with =="
            pinned[canonicalize_name(requirement.name)] = spec.version
    return pinned


def project_requirements(variant: str) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [Requirement(r) for r in project["dependencies"] + project["optional-dependencies"][variant]]


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_pyproject_dependency_is_pinned_within_its_specifier(variant):
    pinned = pins(variant)
    for requirement in project_requirements(variant):
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"requirements-{variant}.txt does not pin {requirement.name}"
        assert requirement.specifier.contains(pinned[name], prereleases=True), (
            f"requirements-{variant}.txt pins {name}=={pinned[name]}, pyproject wants {requirement}")


@pytest.mark.parametrize(("variant", "runtime"), [(v, r) for v, r in VARIANTS.items()])
def test_exactly_one_onnxruntime_build(variant, runtime):
    wanted, other = runtime
    pinned = pins(variant)
    assert wanted in pinned and other not in pinned


def test_cpu_and_gpu_pins_differ_only_in_onnxruntime():
    cpu, gpu = pins("cpu"), pins("gpu")
    for name in ("onnxruntime", "onnxruntime-gpu"):
        cpu.pop(name, None), gpu.pop(name, None)
    assert cpu == gpu


@pytest.mark.parametrize("variant", VARIANTS)
def test_dockerfile_installs_the_pins_and_the_code_as_non_root(variant):
    text = (DOCKER / f"Dockerfile.{variant}").read_text()
    assert f"COPY k8s/docker/requirements-{variant}.txt" in text
    assert "--no-deps -r /tmp/requirements.txt" in text
    for folder in {path.relative_to(ROOT).parts[0] for path in package_dirs().values()}:
        assert f"COPY {folder} " in text, f"the image must contain {folder}/ (no runtime_env zip)"
    assert "matakota assets fetch yolox-nano" in text, "the model belongs in the image"
    users = re.findall(r"^USER\s+(\S+)", text, re.M)
    assert users and not users[-1].startswith(("root", "0")), "the image must end as a non-root user"
    for base in re.findall(r"^ARG \w+_IMAGE=(\S+)", text, re.M):
        assert ":" in base and not base.endswith(":latest"), f"base image {base} is not pinned"


def test_gpu_image_is_built_on_nvidia_cuda_with_cudnn():
    text = (DOCKER / "Dockerfile.gpu").read_text()
    assert re.search(r"^ARG CUDA_IMAGE=nvidia/cuda:12\.[\d.]+-cudnn-runtime-", text, re.M)


def test_gpu_image_asks_for_nvdec_and_says_it_runs_cuda_not_tensorrt():
    """NVDEC (`decode.hwaccel: cuda`) needs the driver's `video` capability (NVIDIA's images ask for compute and
    utility only); without TensorRT libraries the production config must not list TensorRT first."""
    text = (DOCKER / "Dockerfile.gpu").read_text()
    capabilities = re.search(r"NVIDIA_DRIVER_CAPABILITIES=(\S+)", text)
    assert capabilities and {"compute", "utility", "video"} <= set(capabilities.group(1).split(","))
    assert "tensorrt" not in (DOCKER / "requirements-gpu.txt").read_text().lower()
    assert "has no TensorRT libraries" in text
    production = yaml.safe_load((ROOT / "k8s/overlays/production/matakota.yaml").read_text())
    assert production["detector"]["providers"][0] == "CUDAExecutionProvider"


def test_dockerignore_lets_in_exactly_what_the_dockerfiles_copy():
    lines = [l.strip() for l in (ROOT / ".dockerignore").read_text().splitlines()]
    rules = [l for l in lines if l and not l.startswith("#")]
    assert rules[0] == "*", ".dockerignore must be an allow-list"
    allowed = {r[1:].rstrip("/") for r in rules if r.startswith("!")}
    for variant in VARIANTS:
        text = (DOCKER / f"Dockerfile.{variant}").read_text()
        for sources in re.findall(r"^COPY (?!--from)(.+) \S+$", text, re.M):
            for source in sources.split():
                assert source.rstrip("/") in allowed, f"Dockerfile.{variant} copies {source}, .dockerignore drops it"
