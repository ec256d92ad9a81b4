"""The hall core: commands in, events out (core.py).

Built, most of its modules are compiled to C by mypyc (setup.py) and sit beside their sources,
which Python then imports no longer. ``HALLCTL_PURE=1`` in the environment runs the sources
instead: to profile the core or step through it, or to compare the two builds (the snapshot
tests). The same variable at install time builds nothing (docs/operations.md, "Building").
"""

import os

if os.environ.get("HALLCTL_PURE", "") not in ("", "0"):
    import sys
    from importlib.machinery import (
        BYTECODE_SUFFIXES,
        SOURCE_SUFFIXES,
        FileFinder,
        SourceFileLoader,
        SourcelessFileLoader,
    )

    # This package's modules are found through its __path__ by the finder cached for each
    # directory in it: one that knows no extension modules loads the .py files.
    for _path in __path__:
        sys.path_importer_cache[_path] = FileFinder(
            _path, (SourceFileLoader, SOURCE_SUFFIXES), (SourcelessFileLoader, BYTECODE_SUFFIXES)
        )
