"""What the wheel ships: `hallctl demo` works from an installed wheel, away from the checkout."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_the_demo_runs_from_the_built_wheel(tmp_path: Path) -> None:
    # offline: setuptools and wheel come with the test extras
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "-w", str(tmp_path / "dist"), str(REPO)],
        check=True, capture_output=True, timeout=120,
    )
    (wheel,) = (tmp_path / "dist").glob("hallctl-*.whl")
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        zf.extractall(site)
    assert "hallctl/data/demo.yaml" in names
    assert "hallctl/data/devices/ff68-keypad.yaml" in names

    env = {k: v for k, v in os.environ.items() if not k.startswith(("HALLCTL_", "PYTHON"))}
    env.update(PYTHONPATH=str(site), HALLCTL_DEMO_DIR=str(tmp_path / "demo"))
    where = subprocess.run(
        [sys.executable, "-c", "import hallctl; print(hallctl.__file__)"],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=True,
    )
    assert where.stdout.startswith(str(site))  # the wheel's copy, not the checkout
    demo = subprocess.run(
        [sys.executable, "-m", "hallctl.cli", "demo", "--duration", "4", "--speed", "30"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=90,
    )
    assert demo.returncode == 0, demo.stderr
    assert "--- demo summary" in demo.stdout
    assert (tmp_path / "demo" / "data" / "journal.db").exists()
