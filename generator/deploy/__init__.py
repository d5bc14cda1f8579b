"""Publishing a site's build to a remote target over FTP/FTPS, and rolling it back."""

from __future__ import annotations
