"""One switch for progress bars: on for a terminal, off for logs and pipes."""

from __future__ import annotations

import sys

from tqdm.auto import tqdm

__all__ = ["progress"]


def progress(iterable=None, *, enabled: bool | None = None, **kwargs):
    """Wrap ``iterable`` in a progress bar on stderr.

    ``enabled=None`` shows the bar only when stderr is a terminal.
    """
    if enabled is None:
        enabled = sys.stderr.isatty()
    return tqdm(iterable, disable=not enabled, file=sys.stderr, leave=False, **kwargs)
