"""A job's rows and SHAP values shared with the helper process through one memory-mapped file in /dev/shm.

Through the pool's pipes, a chunk's rows and values (hundreds of KB each way) cross in pieces of a pipe's
capacity, and the pool's threads here need the GIL for each piece, which shap holds for a whole call: measured
on sklearn GradientBoosting at 10k rows, the helper idled 7-17 ms between chunks waiting for its result to be
read. With an exchange, a chunk crosses as (slot, first row, end row) both ways: the helper reads its rows
from the file and writes its values there; this process copies them out when the chunk is reported done.

The file is created (0600, space reserved up front so that a full /dev/shm fails here, not as a crash on
first write) when a run sends its explainers, and removed when the run ends; where it cannot be made (no
/dev/shm, too large, no space) the rows and values travel through the pipes as before.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SHM_DIR = "/dev/shm"
MAX_BYTES = 512 * 2**20  # larger runs use the pipes (the exchange would hold a second copy of every value)


@dataclass(frozen=True)
class Layout:
    """Where a job's arrays sit in the file: rows (n, ...) then values (n, ...) then base (n, ...)."""

    path: str
    rows: tuple[tuple[int, ...], str]  # (shape, dtype)
    values: tuple[tuple[int, ...], str]
    base: tuple[tuple[int, ...], str]

    def spans(self) -> list[tuple[tuple[int, ...], np.dtype, int]]:
        """Each array's shape, dtype and byte offset (each starts on a 64-byte boundary)."""
        out = []
        offset = 0
        for shape, dtype in (self.rows, self.values, self.base):
            out.append((shape, np.dtype(dtype), offset))
            offset += _aligned(int(np.prod(shape)) * np.dtype(dtype).itemsize)
        return out

    @property
    def size(self) -> int:
        """Bytes of the file (at least one: an empty mapping is refused)."""
        shape, dtype, offset = self.spans()[-1]
        return max(1, offset + int(np.prod(shape)) * dtype.itemsize)


class Exchange:
    """The three arrays of one job, mapped from the layout's file (by the process that created it, or the
    helper that attached to it)."""

    def __init__(self, layout: Layout, buffer: mmap.mmap) -> None:
        self.layout = layout
        self.removed = False
        self.rows, self.values, self.base = (
            np.ndarray(shape, dtype=dtype, buffer=buffer, offset=offset) for shape, dtype, offset in layout.spans()
        )

    @classmethod
    def create(cls, X: object, values: np.ndarray, base: np.ndarray) -> Exchange | None:
        """An exchange for all rows of X, with room for every row's values and base shaped like one chunk's
        result (`values`, `base`); None where X is not a plain numeric array or no file can hold it."""
        if not isinstance(X, np.ndarray) or not Path(SHM_DIR).is_dir():
            return None
        if not all(isinstance(a, np.ndarray) and a.dtype.kind in "biuf" and a.ndim >= 1 for a in (X, values, base)):
            return None
        n = X.shape[0]
        layout = Layout(
            "",
            (tuple(X.shape), X.dtype.str),
            ((n, *values.shape[1:]), values.dtype.str),
            ((n, *base.shape[1:]), base.dtype.str),
        )
        if layout.size > MAX_BYTES:
            return None
        path = ""
        try:
            fd, path = tempfile.mkstemp(prefix="modelgap-shap-", dir=SHM_DIR)
            try:
                os.posix_fallocate(fd, 0, layout.size)  # no room: an error now, never SIGBUS on write
                buffer = mmap.mmap(fd, layout.size)
            finally:
                os.close(fd)
        except (OSError, ValueError, AttributeError):  # AttributeError: no posix_fallocate on this platform
            if path:
                with contextlib.suppress(OSError):
                    Path(path).unlink()
            return None
        exchange = cls(Layout(path, layout.rows, layout.values, layout.base), buffer)
        exchange.rows[...] = X
        return exchange

    @classmethod
    def attach(cls, layout: Layout) -> Exchange:
        """The exchange a parent created (in the helper)."""
        with open(layout.path, "r+b") as f:
            return cls(layout, mmap.mmap(f.fileno(), layout.size))

    def put(self, start: int, stop: int, values: np.ndarray, base: np.ndarray) -> None:
        """A chunk's result into its rows; a result of another shape or type is refused (never broadcast)."""
        for name, got, into in (("values", values, self.values), ("base", base, self.base)):
            want = into[start:stop]
            if got.shape != want.shape or got.dtype != want.dtype:
                raise ValueError(f"chunk {name} {got.shape} {got.dtype}: expected {want.shape} {want.dtype}")
        self.values[start:stop] = values
        self.base[start:stop] = base

    def take(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        """A copy of a chunk's result (the file goes when the run ends)."""
        return self.values[start:stop].copy(), self.base[start:stop].copy()

    def remove(self) -> None:
        """The file's name goes (once the helper has mapped it, so a crash leaves nothing behind); its memory
        goes when both processes have dropped their mappings."""
        if not self.removed:
            self.removed = True
            with contextlib.suppress(OSError):
                Path(self.layout.path).unlink()


def _aligned(nbytes: int) -> int:
    return (nbytes + 63) // 64 * 64
