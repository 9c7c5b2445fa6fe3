"""Threads of the matrix products, and one guard for small products.

Scoring and fold-in do their arithmetic in NumPy matrix products, which run
on the BLAS library NumPy was built with (OpenBLAS in the NumPy wheels). Its
thread count is set by ``OPENBLAS_NUM_THREADS`` (``OMP_NUM_THREADS`` for
other builds) before the process starts, or at run time with
``threadpoolctl.threadpool_limits``. Results do not depend on it beyond float
rounding. The rest (softmax, selection, CSV) runs on one thread.

Small products gain nothing from threads, and OpenBLAS threads can cost far
more than the product itself when the machine is busy, so products of fewer
than ``SMALL_CELLS`` output cells run under :func:`single_blas_thread`. The
size is counted in cells, not rows: a chunk of 80 users against 50,000
items is a large product.
"""

from __future__ import annotations

import contextlib

__all__ = ["SMALL_CELLS", "single_blas_thread"]

# Below this many output cells (about 256 users x 2,000 items) a product runs
# on one BLAS thread.
SMALL_CELLS = 2**19

_controller = None


def single_blas_thread(active: bool = True):
    """A context in which BLAS uses one thread (a no-op when ``active`` is False)."""
    global _controller
    if not active:
        return contextlib.nullcontext()
    if _controller is None:
        from threadpoolctl import ThreadpoolController

        _controller = ThreadpoolController()
    return _controller.limit(limits=1, user_api="blas")
