"""An ordered list of named stages (markdown-it's `Ruler`): the build is data.

Each stage takes what the stages before it produced and returns a copy with its own
results; `run` calls them in order. Inserting a stage is one call naming its neighbour, never
an edit of a chain of calls.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class StageList(Generic[T]):
    def __init__(self, stages: list[tuple[str, Callable[[T], T]]]) -> None:
        self._stages: list[tuple[str, Callable[[T], T]]] = []
        for name, stage in stages:
            self.push(name, stage)

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self._stages]

    def push(self, name: str, stage: Callable[[T], T]) -> None:
        self._insert(len(self._stages), name, stage)

    def insert_before(self, existing: str, name: str, stage: Callable[[T], T]) -> None:
        self._insert(self._index(existing), name, stage)

    def insert_after(self, existing: str, name: str, stage: Callable[[T], T]) -> None:
        self._insert(self._index(existing) + 1, name, stage)

    def run(self, value: T) -> T:
        for _, stage in self._stages:
            value = stage(value)
        return value

    def _index(self, name: str) -> int:
        for index, (found, _) in enumerate(self._stages):
            if found == name:
                return index
        raise KeyError(f"no stage named '{name}' (stages: {', '.join(self.names)})")

    def _insert(self, index: int, name: str, stage: Callable[[T], T]) -> None:
        if name in self.names:
            raise ValueError(f"a stage named '{name}' exists already")
        self._stages.insert(index, (name, stage))
