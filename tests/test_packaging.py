"""The distribution: one version everywhere, metadata, and an sdist that carries its own tests."""

from __future__ import annotations

import subprocess
import sys
import tarfile
from email.parser import Parser
from pathlib import Path

import wxnotify_magic

ROOT = Path(__file__).resolve().parent.parent


def test_version_is_one_source() -> None:
    from importlib import metadata

    out = subprocess.run([sys.executable, "-m", "wxnotify_magic", "--version"], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == f"wxnotify {wxnotify_magic.__version__}"
    assert metadata.version("wxnotify-magic") == wxnotify_magic.__version__


def test_sdist_carries_its_tests_notebooks_and_metadata(tmp_path: Path) -> None:
    if not (ROOT / "pyproject.toml").exists():  # running from an unpacked sdist's copy: nothing to build
        return
    build = "import sys; from setuptools import build_meta as b; print(b.build_sdist(sys.argv[1]))"
    out = subprocess.run([sys.executable, "-c", build, str(tmp_path)], capture_output=True, text=True, cwd=ROOT,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    name = out.stdout.strip().splitlines()[-1]
    with tarfile.open(tmp_path / name) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
        info = Parser().parsestr(tar.extractfile(f"{name[:-len('.tar.gz')]}/PKG-INFO").read().decode())  # type: ignore[union-attr]
    for needed in ("tests/conftest.py", "tests/test_magic.py", "notebooks/quickstart.ipynb", "LICENSE",
                   "wxnotify_magic/inbox/page.html", "wxnotify_magic/py.typed", "README.zh-CN.md", "docs/usage.md",
                   "docs/img/phone-card.png"):
        assert needed in names, needed
    assert not any("__pycache__" in n for n in names)
    assert info["Version"] == wxnotify_magic.__version__
    requires = info.get_all("Requires-Dist")
    assert "ipython>=7.34" in requires and "ipywidgets>=7.7" in requires  # Colab's IPython is not upgraded
    classifiers = info.get_all("Classifier")
    assert {"Framework :: IPython", "Framework :: Jupyter", "Natural Language :: Chinese (Simplified)"} <= set(
        classifiers)
    assert info.get_all("Project-URL") and "wechat" in info["Keywords"]
