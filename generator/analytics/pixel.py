"""The tracking pixel: a 1x1 transparent GIF the build publishes, requested with the event in
its query string so that the host's ordinary access log records it."""

from __future__ import annotations

import base64

PIXEL_PATH = "_sg/p.gif"
"""Published at `/_sg/p.gif`; the runtime requests `/_sg/p.gif?e=view&p=...`."""

PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
"""The smallest transparent GIF (43 bytes)."""

# Query parameters of a pixel request.
FIELDS = {
    "e": "type",  # view, goal, click, rec
    "p": "page",  # the page's URL path
    "v": "variant",  # the variant key served ("" = default)
    "b": "build",  # the build version baked into the page
    "u": "visitor",  # the runtime's visitor id
    "s": "session",  # the runtime's session id (new after 30 minutes idle)
    "x": "detail",  # the goal, the clicked selector or the recommended page
    "g": "segments",  # the visitor's segment ids, '.'-joined
    "t": "client_ms",  # the browser's clock, in milliseconds
    "r": "referrer",  # a view's referring host, when another site's (never a path)
    "m": "utm",  # a view's utm_source
}
