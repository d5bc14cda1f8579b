"""`sitegen serve`: a live preview for authors.

It builds one site (a preview build, with the variant switcher, never publishable), serves it
on the loopback interface, watches the sources and rebuilds what changed, and tells open pages
to reload by server-sent events (a stylesheet change swaps the stylesheet in place). Variants
are served by the same routing model `.htaccess` is written from (`hosting.routing`), so a
visitor's cookies pick the same file here as on Apache. A build error is shown in the browser
as an overlay while the last good output stays served.
"""
