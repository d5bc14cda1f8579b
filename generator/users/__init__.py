"""Unified users: one file of people for the network, roles that inherit, grants that flow
down the site tree (`model`), read and checked from `users.yaml` files (`load`)."""

USERS_FILE = "users.yaml"
"""The users file's name, at the network's root and in a site's folder."""

PASSPHRASE = "session-passphrase"
"""With `auth.sso: form`, the session passphrase's file, next to the password file (on the
server: outside the web root)."""
LOGIN_USERS = "login-users"
"""The login page's password file, next to the login site's password file."""
