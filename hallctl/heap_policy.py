"""Large blocks straight from the kernel and straight back: glibc's ``mmap`` threshold, fixed.

glibc serves a block of 128 KiB or more with its own ``mmap`` and returns it to the kernel when
freed, but the first such free *raises* that threshold to the block's size (its "dynamic"
threshold). The daemon's snapshot process hands a 2 MB blob back at each snapshot: after the
first, later blobs and their copies came from the heap, whose freed pages glibc kept, and the
day ended 1.5-2 MB higher (bench/bench_memory.py: 60.4 MB against 58.6 with the threshold
fixed; docs/performance.md, "Memory"). Setting the threshold explicitly turns the dynamic
adjustment off. Other C libraries: nothing to do.
"""

from __future__ import annotations

import ctypes
import ctypes.util

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter (malloc.h)
MMAP_THRESHOLD = 128 * 1024  # glibc's own default, kept instead of raised


def fix_mmap_threshold() -> bool:
    """Keep blocks of ``MMAP_THRESHOLD`` or more mapped on their own; False where not glibc."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):  # musl and others have no mallopt
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD))
