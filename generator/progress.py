"""Progress for long work: a bar on a terminal, a few plain lines in CI or a pipe."""

from __future__ import annotations

import os
import sys
from typing import TextIO


def interactive(stream: TextIO) -> bool:
    return stream.isatty() and os.environ.get("CI", "").lower() not in ("1", "true", "yes")


class Progress:
    """Counts units of work; shows a tqdm bar on a terminal, else a line per quarter."""

    def __init__(
        self, label: str, total: int, stream: TextIO | None = None, quiet: bool = False
    ) -> None:
        self.label = label
        self.total = total
        self.done = 0
        self.stream = stream or sys.stderr
        self.quiet = quiet or total == 0
        self._bar = None
        self._next_line = 0
        if self.quiet:
            return
        if interactive(self.stream):
            from tqdm import tqdm

            self._bar = tqdm(
                total=total,
                desc=label,
                unit="file",
                file=self.stream,
                leave=False,
                dynamic_ncols=True,
            )
        else:
            print(f"{label}: {total} to do", file=self.stream, flush=True)
            self._next_line = max(1, total // 4)

    def advance(self, count: int = 1) -> None:
        self.done += count
        if self.quiet:
            return
        if self._bar is not None:
            self._bar.update(count)
        elif self.done >= self._next_line and self.done < self.total:
            print(f"{self.label}: {self.done}/{self.total}", file=self.stream, flush=True)
            self._next_line += max(1, self.total // 4)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
