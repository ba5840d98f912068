"""Logging for workflow scripts: everything a job prints, and its traceback, lands in its log."""

from __future__ import annotations

import contextlib
import sys
import traceback


@contextlib.contextmanager
def log_to(path):
    """Redirect stdout and stderr to ``path``; yield a flushing ``log(message)`` function."""
    with (
        open(path, "w", buffering=1) as f,
        contextlib.redirect_stdout(f),
        contextlib.redirect_stderr(f),
    ):

        def log(message: str) -> None:
            print(message, flush=True)

        try:
            yield log
        except BaseException:
            traceback.print_exc()
            f.flush()
            # Also surface the error on the console running snakemake.
            traceback.print_exc(file=sys.__stderr__)
            raise
