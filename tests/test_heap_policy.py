"""The daemon keeps glibc's mmap threshold fixed, so big blocks' pages go back when freed."""

from __future__ import annotations

import subprocess
import sys

import pytest

from hallctl import heap_policy

# A child interpreter, so this test's own heap history does not matter: it frees one 4 MB
# block (which, left alone, raises glibc's threshold), then allocates and frees 16 blocks of
# 2 MB while one small object sits after each, so the heap cannot shrink from its top.
PROBE = """
import sys
from hallctl.heap_policy import fix_mmap_threshold
if sys.argv[1] == "fixed":
    assert fix_mmap_threshold()
def rss_kb():
    return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmRSS"))
big = bytes(4 << 20)
del big
before = rss_kb()
keep = []
blocks = []
for i in range(16):
    blocks.append(bytearray(2 << 20))
    keep.append(bytearray(4096))  # malloc, not pymalloc: pins the heap's top
del blocks
print(rss_kb() - before)
"""


def grown_kb(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True,
                         check=True)  # fmt: skip
    return int(out.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_freed_big_blocks_go_back_to_the_kernel_with_the_threshold_fixed() -> None:
    if not heap_policy.fix_mmap_threshold():
        pytest.skip("not glibc")
    assert grown_kb("fixed") < 4 * 1024  # 32 MB allocated and freed: under 4 MB kept
    # and the reason for the call: left dynamic, glibc keeps most of the 32 MB
    assert grown_kb("dynamic") > 16 * 1024
