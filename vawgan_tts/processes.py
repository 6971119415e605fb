"""A forkserver pool whose workers compute on one thread each: what extraction, synthesis (a
report's systems) and evaluation run their work in. (DTW alignment and corpus preparation keep
concurrent.futures' default pool: their workers run only dtaidistance, PyAV and flite.)

forkserver, not fork: workers fork from a clean server that preloaded the module they run, so they
start quickly and never inherit the parent's threads (the progress display, torch's and BLAS's
pools). One thread per worker: the processes already fill the cores, and a multi-threaded matrix
product in each (the mel-cepstrum conversion of extraction) made 2 processes on 2 cores only 1.3×
faster than one instead of 1.8×. (Dask's nanny sets the same limit in its workers.)
"""

from __future__ import annotations

import contextlib
import multiprocessing
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from typing import Any, Callable, Iterator, Sequence


def process_pool(jobs: int, preload: str, initializer: Callable | None = None, initargs: tuple = ()) -> ProcessPoolExecutor:
    """A pool of ``jobs`` workers forked from a server that imported ``preload`` (a module name); each
    worker limits BLAS (and torch, if imported) to one thread, then calls ``initializer(*initargs)``."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload([preload])
    return ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_init_worker,
                               initargs=(initializer, initargs))


@contextlib.contextmanager
def pool_or_none(jobs: int, n_tasks: int, preload: str, initializer: Callable | None = None,
                 initargs: tuple = ()) -> Iterator[ProcessPoolExecutor | None]:
    """:func:`process_pool` of at most ``n_tasks`` workers when ``jobs`` > 1 and there is more than
    one task; else None: the caller does the work in this process."""
    if jobs <= 1 or n_tasks <= 1:
        yield None
        return
    with process_pool(min(jobs, n_tasks), preload, initializer, initargs) as pool:
        yield pool


def results(futures: Sequence[Future], in_order: bool = False) -> Iterator[tuple[Future, Any]]:
    """Each future with its result, as they finish (or in the given order); on an error (a worker's,
    the caller's, Ctrl-C) the futures not yet started are cancelled, so the pool's exit does not run them."""
    try:
        for fut in futures if in_order else as_completed(futures):
            yield fut, fut.result()
    except BaseException:
        for fut in futures:
            fut.cancel()
        raise


def _init_worker(initializer: Callable | None, initargs: tuple) -> None:
    import os
    import sys

    from threadpoolctl import threadpool_limits

    os.environ["OMP_NUM_THREADS"] = "1"  # for torch, should the initializer import it
    threadpool_limits(1)
    if initializer is not None:
        initializer(*initargs)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)
