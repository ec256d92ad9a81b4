"""What the wheel ships: `hallctl demo` works from an installed wheel, away from the checkout.

The wheel is built from a copy of the sources, so that no build of the checkout's (build/, the
compiled modules beside the sources) is reused or touched, and with the hall core as Python
(``HALLCTL_PURE=1``, setup.py): compiling it takes minutes, mostly mypy's type check of the
package. ``HALLCTL_TEST_COMPILED_WHEEL=1`` also builds and checks the compiled wheel (3-5
minutes on a busy 2-core machine); the compiled core itself is what the other tests run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def build_wheel(tmp_path: Path, compiled: bool) -> tuple[set[str], Path]:
    """The wheel's file names, and where it is unpacked (as pip would install it)."""
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy2(REPO / name, source / name)
    shutil.copytree(
        REPO / "hallctl", source / "hallctl",
        ignore=shutil.ignore_patterns("*.so", "__pycache__", "compiled-sources.sha256"),
    )  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("HALLCTL_")}
    # compiled with the C compiler's -O0: the same files, in a quarter of the compiler's time
    env.update({"HALLCTL_MYPYC_OPT": "0"} if compiled else {"HALLCTL_PURE": "1"})
    # offline: setuptools, wheel and mypy (mypyc) come with the test extras
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "-w", str(tmp_path / "dist"), str(source)],
        check=True, capture_output=True, timeout=900 if compiled else 120, env=env,
    )  # fmt: skip
    (wheel,) = (tmp_path / "dist").glob("hallctl-*.whl")
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        zf.extractall(site)
    return names, site


def run_from(site: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HALLCTL_", "PYTHON"))}
    env.update(PYTHONPATH=str(site), HALLCTL_DEMO_DIR=str(tmp_path / "demo"))
    return subprocess.run(
        [sys.executable, *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=90
    )


@pytest.mark.timeout(900)
@pytest.mark.skipif(
    os.environ.get("HALLCTL_TEST_COMPILED_WHEEL", "") in ("", "0"),
    reason="minutes of compiling: HALLCTL_TEST_COMPILED_WHEEL=1 runs it",
)
def test_the_compiled_wheel_ships_the_compiled_core(tmp_path: Path) -> None:
    names, site = build_wheel(tmp_path, compiled=True)
    suffix = EXTENSION_SUFFIXES[0]
    assert f"hallctl/hall/core{suffix}" in names
    assert f"hallctl/hall__mypyc{suffix}" in names  # the group's shared library
    assert "hallctl/hall/commands.py" in names and f"hallctl/hall/commands{suffix}" not in names
    core = run_from(site, tmp_path, "-c", "import hallctl.hall.core as c; print(c.__file__)")
    assert core.stdout.strip() == str(site / "hallctl" / "hall" / f"core{suffix}"), core.stderr
    demo = run_from(site, tmp_path, "-m", "hallctl.cli", "demo", "--duration", "4", "--speed", "30")
    assert demo.returncode == 0, demo.stderr
    assert "--- demo summary" in demo.stdout


def test_the_demo_runs_from_the_built_wheel(tmp_path: Path) -> None:
    names, site = build_wheel(tmp_path, compiled=False)
    assert not [n for n in names if n.endswith(tuple(EXTENSION_SUFFIXES))]  # built as Python
    assert "hallctl/data/demo.yaml" in names
    assert "hallctl/data/devices/ff68-keypad.yaml" in names
    where = run_from(site, tmp_path, "-c", "import hallctl; print(hallctl.__file__)")
    assert where.stdout.startswith(str(site))  # the wheel's copy, not the checkout
    demo = run_from(site, tmp_path, "-m", "hallctl.cli", "demo", "--duration", "4", "--speed", "30")
    assert demo.returncode == 0, demo.stderr
    assert "--- demo summary" in demo.stdout
    assert (tmp_path / "demo" / "data" / "journal.db").exists()
