"""Staging sync: comparing environments of a site (`sitegen env diff`), promoting items
from one to another (`sitegen promote`) and copying traffic, sanitized
(`sitegen analytics copy`)."""
