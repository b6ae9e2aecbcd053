"""Peak memory of a step on the CPU, shared by the benchmark scripts: the resident set's peak
(``VmHWM``) since a reset, measured in a fresh process whose allocator returns freed blocks."""

from __future__ import annotations

#: glibc maps every block of 4 KiB or more on its own and returns it when freed (fixed thresholds
#: turn off its growing ones), so the resident set falls back after a step and the next peak shows
FREEING_MALLOC = {"MALLOC_MMAP_THRESHOLD_": "4096", "MALLOC_TRIM_THRESHOLD_": "4096"}


def status(field: str) -> int:
    """A byte count of /proc/self/status (``VmRSS``, ``VmHWM``: the peak resident set)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status (the CPU peak needs Linux)")


def reset_hwm() -> int:
    """The resident set now, after setting the peak (``VmHWM``) to it (``clear_refs`` 5, Linux
    4.0 on). ``ru_maxrss`` cannot serve: it keeps the peak of the process this one forked from."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    return status("VmRSS")
