"""The build: hallctl is pure Python but for the hall core, compiled to C with mypyc.

Everything else about the project is in pyproject.toml. The hall core (hallctl/hall/) is pure,
synchronous and fully typed, and it is most of a command's CPU time in the engine: compiled, a
command costs it about half (docs/performance.md, "Hall core + durable journal"). The compiled
modules sit beside their .py files (an editable install builds them in place) and Python
imports them first.

    HALLCTL_PURE=1 pip install -e '.[test]'   # no C compiler: the same code, run as Python

docs/operations.md ("Building") says how to rebuild after editing the core.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HALL = Path("hallctl") / "hall"
# Not compiled: pydantic models (pydantic builds a class from its annotations at run time, with a
# metaclass mypyc cannot compile), and the package's __init__ (nothing runs in it).
NOT_COMPILED = {"__init__.py", "commands.py", "events.py"}
# what an in-place build compiled, as `sha256sum` prints it (`sha256sum -c` checks it)
MANIFEST = HALL / "compiled-sources.sha256"


def compiled_sources() -> list[str]:
    """The hall core's modules that are built with mypyc, as paths from the project's root."""
    return sorted(str(p) for p in HALL.glob("*.py") if p.name not in NOT_COMPILED)


def manifest() -> str:
    return "".join(
        f"{hashlib.sha256(Path(p).read_bytes()).hexdigest()}  {p}\n" for p in compiled_sources()
    )


def pure() -> bool:
    return os.environ.get("HALLCTL_PURE", "") not in ("", "0")


class BuildExt(build_ext):
    """Compiles with mypyc when extensions are built. A build runs this file several times (for
    its requirements, its metadata, the build itself): mypyc, which type-checks the whole import
    graph first (about 25 s of CPU), runs only in the one that builds."""

    def finalize_options(self) -> None:
        if self.distribution.ext_modules is PLACEHOLDER:
            from mypyc.build import mypycify

            self.compiled_from = manifest()  # before mypyc reads them

            # One shared library for the group, named inside the package so that an editable
            # install's finder (which maps only `hallctl`) and a wheel both find it.
            # HALLCTL_MYPYC_OPT: the C compiler's -O level, "3" unless said (the compiled wheel's
            # test builds with 0: it checks what a wheel holds, with the compiler's time cut)
            opt = os.environ.get("HALLCTL_MYPYC_OPT", "3")
            self.distribution.ext_modules = mypycify(
                compiled_sources(), group_name="hallctl.hall", opt_level=opt
            )
        super().finalize_options()

    def run(self) -> None:
        super().run()
        made = getattr(self, "compiled_from", None)
        if made is not None and (self.inplace or getattr(self, "editable_mode", False)):
            # Built beside the sources (an editable install): say from which, so that a test
            # finds compiled modules an edit has left behind (tests/test_build.py).
            MANIFEST.write_text(made, encoding="utf-8")


# Stands for mypyc's extensions until one is built: setuptools must know there will be some
# (the wheel is then tagged for this platform and Python).
PLACEHOLDER = [Extension("hallctl.hall.core", [str(HALL / "core.py")])]

def remove_compiled() -> None:
    """A pure editable install leaves no compiled module of an earlier one beside the sources
    (a wheel built pure leaves them: it is built elsewhere)."""
    if not {"editable_wheel", "develop", "--inplace", "-i"} & set(sys.argv):
        return
    for path in [*HALL.glob("*.so"), *HALL.parent.glob("hall__mypyc*.so"), MANIFEST]:
        path.unlink(missing_ok=True)


if __name__ == "__main__":  # as setuptools runs it; tests import it for the lists above
    if pure():
        remove_compiled()
    setup(ext_modules=[] if pure() else PLACEHOLDER, cmdclass={"build_ext": BuildExt})
