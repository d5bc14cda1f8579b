"""The versions of the formats sitegen reads, and the refusal of one that is too new.

A file in a format this sitegen does not know yet is refused, never misread: its reader
calls `Format.refusal` with the version it found (and the release that wrote it, where the
file records one). Older versions are read as they are or migrated (`sitegen migrate` for
the repository's own files; the stores migrate themselves on first use).
"""

from __future__ import annotations

from dataclasses import dataclass

from generator import __version__


@dataclass(frozen=True)
class Format:
    name: str
    current: int
    """The version this sitegen writes (and the newest it reads); docs/compatibility.md
    says what each version changed and which release brought it."""

    def refusal(self, found: int, written_by: str | None = None) -> str | None:
        """Why a file in version `found` cannot be read, or None when it can."""
        if found <= self.current:
            return None
        writer = f"sitegen {written_by}" if written_by else "a newer sitegen"
        return (
            f"{self.name} format {found}, written by {writer}; this is sitegen "
            f"{__version__}, which reads {self.name} formats up to {self.current}: "
            "upgrade sitegen"
        )


CONFIG = Format("config", 2)
"""`sites/*/site.yaml` and `themes/*/theme.yaml`, versioned by their `sitegen:` key (absent:
1). Format 2: every experiment goal names its `id` (format 1 derived one from the goal's
page or selector, so editing the page renamed the goal in the events); the key is `sitegen`
(format 1 files may say `schema`)."""
