"""The hall core as built: compiled by mypyc (setup.py), and a snapshot that loads in either build.

- Tests run the compiled core that ships unless it was built pure (``HALLCTL_PURE=1``), and no
  compiled module is left from sources an edit has changed since (it would be imported instead
  of the edited .py).
- A snapshot (a pickle of the hall state) written by the core run as Python loads in the
  compiled core and back, each to the same state, which then carries on alike: a site may
  upgrade from one build to the other with a snapshot on disk. So does one written before the
  core was compiled (tests/data/snapshot-before-mypyc.pickle, by main at 4144d94).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import os
import subprocess
import sys
from datetime import datetime
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path
from types import ModuleType

import pytest

from hallctl import snapshot
from hallctl.config import HallConfig, parse_config
from hallctl.hall.commands import parse_command
from hallctl.hall.core import Hall
from hallctl.hall.errors import HallError
from hallctl.hall.state import HallState
from tests.hall.conftest import SMALL_HALL, TZ
from tests.hall.sample_days import sample_hall

ROOT = Path(__file__).resolve().parent.parent
BEFORE = ROOT / "tests" / "data" / "snapshot-before-mypyc.pickle"
PURE = os.environ.get("HALLCTL_PURE", "") not in ("", "0")


def build_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("hallctl_setup", ROOT / "setup.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    cwd = Path.cwd()
    os.chdir(ROOT)  # its paths are the project's, as setuptools runs it
    try:
        spec.loader.exec_module(module)
    finally:
        os.chdir(cwd)
    return module


def compiled_modules() -> list[str]:
    paths = build_script().compiled_sources()
    return [p.removesuffix(".py").replace("/", ".") for p in paths]


def test_the_hall_core_runs_compiled_as_it_ships() -> None:
    names = compiled_modules()
    assert "hallctl.hall.core" in names and "hallctl.hall.eta" in names
    assert "hallctl.hall.commands" not in names  # pydantic models stay Python
    for name in names:
        where = importlib.import_module(name).__file__ or ""
        if PURE:
            assert where.endswith(".py"), where
        else:
            assert where.endswith(tuple(EXTENSION_SUFFIXES)), (
                f"{name} runs as Python from {where}: build it (pip install -e .), "
                "or set HALLCTL_PURE=1 to run the core as Python"
            )


def test_no_compiled_module_is_older_than_its_source() -> None:
    if PURE:
        pytest.skip("HALLCTL_PURE=1: the core runs as Python")
    core = importlib.import_module("hallctl.hall.core").__file__ or ""
    manifest = Path(core).parent / "compiled-sources.sha256"
    if not manifest.exists():
        pytest.skip("not built in place (an installed wheel): nothing beside the sources")
    made = dict(reversed(line.split("  ", 1)) for line in manifest.read_text().splitlines())
    now = {
        path: hashlib.sha256((ROOT / path).read_bytes()).hexdigest()
        for path in build_script().compiled_sources()
    }
    stale = sorted(path for path in now if made.get(path) != now[path])
    assert not stale, (
        f"compiled from other sources than these: {stale}; rebuild with "
        "`.venv/bin/pip install -e .` (or `bash scripts/test.sh`, which does it)"
    )


# Run in a process of its own, the core as Python (HALLCTL_PURE=1) or as built: makes the sample
# days and writes their snapshot; loads the snapshot given and prints whether its state is the
# same, a digest of it (its repr: every field), and the events of more commands run on it.
OTHER = """
import hashlib, json, sys
from pathlib import Path
from hallctl import snapshot
import hallctl.hall.core
from tests.hall.sample_days import sample_hall
from tests.test_build import carry_on, same_state
mine = sample_hall()
Path(sys.argv[1]).write_bytes(snapshot.dumps(mine.state))
loaded = snapshot.loads(Path(sys.argv[2]).read_bytes())
print(json.dumps({
    "core": hallctl.hall.core.__file__,
    "same": same_state(loaded, mine.state),
    "loaded": hashlib.sha256(repr(loaded).encode()).hexdigest(),
    "after": carry_on(loaded, mine.config),
}))
"""


def in_a_process(tmp_path: Path, blob: bytes, pure: bool) -> tuple[dict[str, object], bytes]:
    given, written = tmp_path / "given.pickle", tmp_path / "written.pickle"
    given.write_bytes(blob)
    env = {k: v for k, v in os.environ.items() if k != "HALLCTL_PURE"}
    env["PYTHONHASHSEED"] = "0"  # sets in the same order in both processes (the digest)
    if pure:
        env["HALLCTL_PURE"] = "1"
    done = subprocess.run(
        [sys.executable, "-c", OTHER, str(written), str(given)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout), written.read_bytes()


def same_state(a: HallState, b: HallState) -> bool:
    # every field, and the classes' own equality (tickets, windows, lines and their queues...)
    return a == b and repr(a) == repr(b)


def carry_on(state: HallState, config: HallConfig) -> list[object]:
    """The events of the next commands of the day, run on a hall with this state."""
    hall = Hall(config, state)
    at = datetime.fromtimestamp(state.clock + 60, TZ)
    events: list[object] = []
    for request in (
        {"action": "take_ticket", "service": "SB"},
        {"action": "call_next", "window": 1},
        {"action": "call_next", "window": 2},
        {"action": "finish", "window": 2},
        {"action": "take_ticket", "service": "BDC", "channel": "green"},
        {"action": "call_next", "window": 2},
    ):
        try:
            events.append(hall.execute(parse_command(request), at).events)
        except HallError as e:
            events.append(e.code)
    return json.loads(json.dumps(events, default=str))


def test_a_snapshot_loads_from_the_core_as_python_into_the_compiled_core_and_back(
    tmp_path: Path,
) -> None:
    here = sample_hall()
    mine = snapshot.dumps(here.state)
    # the other build (the core as Python, if this process runs it compiled) loads this one's
    pure, theirs = in_a_process(tmp_path, mine, pure=True)
    assert str(pure["core"]).endswith("core.py")
    assert pure["same"] is True
    # and this one loads the other's
    loaded = snapshot.loads(theirs)
    assert same_state(loaded, here.state)
    # and each carries on as the hall would have
    after = carry_on(snapshot.loads(mine), here.config)
    assert pure["after"] == after == carry_on(loaded, here.config)
    assert any(e for e in after if isinstance(e, list) and e)  # the commands did something


def test_a_snapshot_written_before_the_core_was_compiled_loads_in_both(tmp_path: Path) -> None:
    blob = BEFORE.read_bytes()
    here = snapshot.loads(blob)
    assert here.tickets and here.lines and here.windows and here.arrival_profile.days
    pure, _ = in_a_process(tmp_path, blob, pure=True)
    built, _ = in_a_process(tmp_path, blob, pure=PURE)
    assert pure["loaded"] == built["loaded"]  # the same state, field by field
    after = carry_on(here, parse_config(SMALL_HALL))
    assert pure["after"] == built["after"] == after
    assert any(e for e in after if isinstance(e, list) and e)
