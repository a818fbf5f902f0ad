"""Every shell and Python example in the READMEs and docs/ runs as shown, in a fresh venv, against the local inbox.

The fresh venv is built once per test session by running the README's install example (the block marked
`<!-- example: install -->`) in a copy of this checkout, with a fresh shell's environment. Then, for each markdown
file, in a fresh HOME with a fresh inbox, after the quick start's `wxnotify config add me`:
- a ```bash block runs with bash in a fresh shell where the venv is activated;
- a ```python block runs as one cell of a new terminal IPython session; a block that starts with a cell magic
  (`%%wxnotify`) is the next cell of the previous block's session, as in a notebook.
Each block must succeed. The examples talk to the inbox at 127.0.0.1:8787 (and WXNOTIFY_API_BASE points there,
as after `export WXNOTIFY_API_BASE=http://127.0.0.1:8787`); the test serves it on a free port and writes that
port for 8787 in the blocks. Markers, on the line before a block:
`<!-- example: skip (why) -->` (not run: it needs a real token, Colab, or is the test suite itself),
`<!-- example: stdin TEXT -->` (TEXT is typed at the block's prompt), `<!-- example: install (…) -->`.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from wxnotify_magic.inbox import Inbox

ROOT = Path(__file__).resolve().parent.parent
DOCS = [p for p in [ROOT / "README.md", ROOT / "README.zh-CN.md", *sorted((ROOT / "docs").glob("*.md"))] if p.exists()]
LANGS = {"python": "python", "ipython": "python", "bash": "shell", "sh": "shell", "shell": "shell"}
FENCE = re.compile(r"^(?P<indent>\s*)```(?P<lang>[\w+-]*)\s*$")
MARKER = re.compile(r"^\s*<!--\s*example:\s*(?P<kind>skip|stdin|install)\b\s*(?P<arg>.*?)\s*-->\s*$")
# What an example's output must never say (a failed receipt, a refused destination, an error shown by IPython).
FAILURES = ("wxnotify: failed", "not a destination URL", "no destination configured", "UsageError", "Traceback")
SAVED_ME = "wxpusher://AT_xxx/UID_xxx"  # what the quick start saves as "me" (fake: the inbox takes any token)
RUNNER = """
import sys
from IPython.terminal.interactiveshell import TerminalInteractiveShell
shell = TerminalInteractiveShell.instance(colors="NoColor")
for path in sys.argv[1:]:
    if not shell.run_cell(open(path, encoding="utf-8").read(), store_history=True).success:
        sys.exit(f"this cell failed: {path}")
"""


@dataclass
class Block:
    path: Path
    line: int
    lang: str  # "python" or "shell"
    code: str
    marker: str = ""  # skip, stdin, install
    arg: str = ""

    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def blocks(path: Path) -> list[Block]:
    """The runnable fenced blocks of a markdown file, with the marker on the line before each."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found, i = [], 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m or not m["lang"]:
            i += 1
            continue
        indent, start = m["indent"], i
        body: list[str] = []
        i += 1
        while i < len(lines) and lines[i].strip() != "```":
            body.append(lines[i][len(indent):] if lines[i].startswith(indent) else lines[i].lstrip())
            i += 1
        i += 1
        lang = LANGS.get(m["lang"].lower())
        if lang is None:
            continue
        before = next((lines[j] for j in range(start - 1, -1, -1) if lines[j].strip()), "")
        mark = MARKER.match(before)
        found.append(Block(path, start + 1, lang, "\n".join(body) + "\n", mark["kind"] if mark else "",
                           mark["arg"] if mark else ""))
    return found


def fresh_env(home: Path) -> dict[str, str]:
    """A new login shell's environment: nothing of this test's venv, of wxnotify, of Jupyter."""
    return {"HOME": str(home), "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "TERM": "dumb",
            **{k: v for k, v in os.environ.items() if k.startswith("PIP_")}}


def copy_checkout(dest: Path) -> None:
    skip = shutil.ignore_patterns(".git", ".venv*", ".demo", "build", "dist", "__pycache__", "*.egg-info",
                                  ".mypy_cache", ".ruff_cache", ".pytest_cache")
    shutil.copytree(ROOT, dest, ignore=skip)


@pytest.fixture(scope="session")
def fresh_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The README's install example, run once per session (shared by xdist workers) in a copy of the checkout."""
    base = tmp_path_factory.getbasetemp().parent / "readme-examples"
    base.mkdir(exist_ok=True)
    with open(base / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        checkout = base / "wxnotify-magic"
        venv = checkout / ".venv"
        if not (base / "ready").exists():
            shutil.rmtree(checkout, ignore_errors=True)
            copy_checkout(checkout)
            install = [b for b in blocks(ROOT / "README.md") if b.marker == "install"]
            assert len(install) == 1, "README.md has one install example, marked <!-- example: install -->"
            home = base / "home"
            home.mkdir(exist_ok=True)
            done = subprocess.run(["bash", "-euo", "pipefail", "-c", install[0].code], cwd=base, env=fresh_env(home),
                                  capture_output=True, text=True, timeout=900)
            assert done.returncode == 0, f"{install[0].where()}: {done.stdout}\n{done.stderr}"
            (base / "ready").touch()
        return venv


@pytest.fixture
def inbox_for_file() -> Iterator[Inbox]:
    with Inbox() as inbox:
        yield inbox


def shell_env(venv: Path, home: Path, inbox: Inbox) -> dict[str, str]:
    env = fresh_env(home)
    env.update(VIRTUAL_ENV=str(venv), PATH=f"{venv / 'bin'}:{env['PATH']}", WXNOTIFY_API_BASE=inbox.url)
    return env


def run_shell(block: Block, env: dict[str, str], cwd: Path, port: int) -> subprocess.CompletedProcess[str]:
    stdin = block.arg + "\n" if block.marker == "stdin" else ""
    return subprocess.run(["bash", "-euo", "pipefail", "-c", block.code.replace("8787", str(port))], cwd=cwd,
                          env=env, input=stdin, capture_output=True, text=True, timeout=120)


def run_cells(cells: list[Block], venv: Path, env: dict[str, str], cwd: Path, port: int) -> \
        subprocess.CompletedProcess[str]:
    files = []
    for n, cell in enumerate(cells):
        f = cwd / f"cell{cell.line}_{n}.ipy"
        f.write_text(cell.code.replace("8787", str(port)), encoding="utf-8")
        files.append(str(f))
    return subprocess.run([str(venv / "bin" / "python"), "-c", RUNNER, *files], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=180)


def sessions(found: list[Block]) -> list[list[Block]]:
    """Blocks grouped as they run: each shell block alone; python blocks as cells of one IPython session."""
    groups: list[list[Block]] = []
    for block in found:
        if block.marker in ("skip", "install"):
            continue
        joins = block.lang == "python" and block.code.startswith("%%") and groups and groups[-1][0].lang == "python"
        if joins:
            groups[-1].append(block)
        else:
            groups.append([block])
    return groups


@pytest.mark.parametrize("doc", DOCS, ids=[str(p.relative_to(ROOT)) for p in DOCS])
def test_every_example_runs_as_shown(doc: Path, fresh_venv: Path, inbox_for_file: Inbox, tmp_path: Path) -> None:
    found = blocks(doc)
    groups = sessions(found)
    if not groups:
        pytest.skip(f"{doc.name} has no runnable examples")
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    env = shell_env(fresh_venv, home, inbox_for_file)
    port = int(inbox_for_file.url.rsplit(":", 1)[1])
    saved = subprocess.run(["wxnotify", "config", "add", "me"], input=SAVED_ME + "\n", env=env, cwd=work,
                           capture_output=True, text=True, timeout=60)
    assert saved.returncode == 0, saved.stderr
    for group in groups:
        if group[0].lang == "shell":
            done = run_shell(group[0], env, work, port)
        else:
            done = run_cells(group, fresh_venv, env, work, port)
        assert done.returncode == 0, f"{group[0].where()} failed:\n{group[0].code}\n{done.stdout}\n{done.stderr}"
        said = [f for f in FAILURES if f in done.stdout + done.stderr]
        assert not said, f"{group[0].where()} says {said}:\n{done.stdout}\n{done.stderr}"
    if doc.parent == ROOT:  # a README's examples send real messages (to the emulator), and every one is taken
        messages = inbox_for_file.wait_for(4, timeout=30)
        assert all(m["accepted"] for m in messages), [m["response"] for m in messages]
        assert any("toy training" in (m["title"] or "") for m in messages)


def test_each_readme_is_at_most_200_lines_and_speaks_of_the_product() -> None:
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        if doc.parent == ROOT:
            assert len(text.splitlines()) <= 200, f"{doc.name} has {len(text.splitlines())} lines"
        assert not re.search(r"\bissues? \d", text, re.IGNORECASE), f"{doc.name} speaks of work items"


if __name__ == "__main__":  # list what would run: python tests/test_readme_examples.py
    for d in DOCS:
        for b in blocks(d):
            print(b.where(), b.lang, b.marker or "run", file=sys.stdout)
