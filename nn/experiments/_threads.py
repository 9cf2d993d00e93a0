"""Matrix products on one thread, for the experiments that time them or run many small ones."""

from __future__ import annotations

import contextlib
import importlib


class OneThread:
    """The library's matmuls on one thread while inside (numpy's BLAS through threadpoolctl, if installed).

    For timing, CPU time then counts the work, not threads waiting on each other; for small matrices
    (1,000 × 30) on a busy machine, several BLAS threads spend longer waiting than multiplying.
    `limited` says whether it could: without threadpoolctl numpy runs as it is set up.
    """

    def __init__(self, library: str = "numpy") -> None:
        self.library = library
        self.limited = False
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> OneThread:
        if self.library == "torch":
            torch = importlib.import_module("torch")
            before = torch.get_num_threads()
            torch.set_num_threads(1)
            self._stack.callback(torch.set_num_threads, before)
            self.limited = True
        else:
            try:
                threadpoolctl = importlib.import_module("threadpoolctl")
            except ImportError:  # numpy's BLAS runs as it is set up; the result says so
                return self
            self._stack.enter_context(threadpoolctl.threadpool_limits(1))
            self.limited = True
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()
