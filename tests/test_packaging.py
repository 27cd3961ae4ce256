"""What `pip install colalamo` users and sdist users get: the sdist is the whole project (its
tests run from the unpacked archive), the wheel is the package alone, typed, with its links,
and its description starts with the set-up commands and then `pip install colalamo`."""

from __future__ import annotations

import email
import subprocess
import sys
import tarfile
import zipfile
from email.message import Message
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent


def build(hook: str, source: Path, out: Path) -> Path:
    """Run setuptools' PEP 517 hook (what `python -m build` and pip call) in `source`."""
    out.mkdir(exist_ok=True)
    code = f"import sys; from setuptools import build_meta; print(build_meta.{hook}(sys.argv[1]))"
    done = subprocess.run([sys.executable, "-c", code, str(out)], cwd=source,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return out / done.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def sdist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sdist, unpacked."""
    work = tmp_path_factory.mktemp("sdist")
    archive = build("build_sdist", ROOT, work / "dist")
    with tarfile.open(archive) as tar:
        if hasattr(tarfile, "data_filter"):  # Python 3.10.12+, 3.11.4+
            tar.extractall(work / "unpacked", filter="data")
        else:
            tar.extractall(work / "unpacked")
    return next((work / "unpacked").iterdir())


@pytest.fixture(scope="module")
def wheel(sdist: Path, tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    """The wheel, built from the sdist (as pip does when it installs one)."""
    return zipfile.ZipFile(build("build_wheel", sdist, tmp_path_factory.mktemp("wheel")))


def test_the_sdist_holds_what_its_tests_need(sdist: Path) -> None:
    for needed in ("tests/conftest.py", "tests/helpers.py", "tests/data", ".env.example", "docker/Dockerfile",
                   "bench/run.py", "colalamo/py.typed", "LICENSE"):
        assert (sdist / needed).exists(), needed
    assert not list(sdist.rglob("__pycache__")) and not list(sdist.rglob("*.pyc"))


def test_the_sdist_tests_run_from_the_unpacked_archive(sdist: Path) -> None:
    # the archive's own colalamo comes first on the path (the working directory)
    probe = subprocess.run([sys.executable, "-c", "import colalamo; print(colalamo.__file__)"], cwd=sdist,
                           capture_output=True, text=True, timeout=60)
    assert probe.stdout.strip() == str(sdist / "colalamo" / "__init__.py")
    tests = ["tests/test_config.py", "tests/test_docker.py",
             "tests/test_readme.py::test_readme_starts_with_the_two_set_up_commands"]
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests], cwd=sdist,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-3000:]
    assert " passed" in done.stdout.splitlines()[-1] and "error" not in done.stdout.splitlines()[-1]


def metadata(wheel: zipfile.ZipFile) -> Message:
    name = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
    return email.message_from_bytes(wheel.read(name))


def test_the_wheel_is_the_typed_package_with_its_links(wheel: zipfile.ZipFile) -> None:
    names = wheel.namelist()
    assert "colalamo/py.typed" in names
    assert not [n for n in names if n.startswith(("tests/", "bench/", "docker/"))]
    urls = metadata(wheel).get_all("Project-URL") or []
    assert any(url.startswith("Documentation, https://") for url in urls)


def test_the_long_description_says_how_users_install_it(wheel: zipfile.ZipFile) -> None:
    description = metadata(wheel).get_payload()
    assert isinstance(description, str)
    top = description[: description.index("\n## ")]
    dev = top.index("pip install -e . && colalamo")
    assert dev < top.index("pip install colalamo")
