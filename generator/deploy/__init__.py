"""Remote targets over FTP/FTPS (the deploy itself comes with its own issue)."""

from __future__ import annotations
