"""Staging sync: comparing environments of a site (`sitegen env diff`)."""
