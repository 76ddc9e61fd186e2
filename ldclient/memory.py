"""Process-wide memory settings for the one-shot processes (``python -m ldclient``).

pyarrow's default allocator (mimalloc) keeps freed pages for reuse. A process that loads a million
events and computes the metrics frees tens of MB of temporaries at each step, and with mimalloc they
stay resident: the peak is ~20 MB higher than with the C library's allocator, which gives large blocks
back to the system at once (benchmarks/RESULTS.md, figure 6). The dashboard's long-lived, many-threaded
server keeps pyarrow's default.
"""

from __future__ import annotations

import os


def return_freed_memory() -> None:
    """Let Arrow allocate with the C library's allocator, unless ``ARROW_DEFAULT_MEMORY_POOL`` says otherwise."""
    if os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        return
    import pyarrow as pa

    pa.set_memory_pool(pa.system_memory_pool())
