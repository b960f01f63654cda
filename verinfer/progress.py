"""The one progress bar of every long CLI job: a ``(message, fraction)`` callback drawn on stderr.

Usage::

    with progress_bar(first="proving") as update:
        update("step 3 of 7", 3 / 7)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

Update = Callable[[str, float], None]


@contextmanager
def progress_bar(enabled: bool = True, first: str = "preparing") -> Iterator[Update]:
    """A progress callback ``(message, fraction)`` drawn as a bar on stderr (off: a no-op)."""
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        disable=not enabled,
        transient=True,
    ) as bar:
        task = bar.add_task(first, total=1.0)

        def update(message: str, fraction: float) -> None:
            bar.update(task, description=message, completed=max(0.0, min(1.0, fraction)))

        yield update
