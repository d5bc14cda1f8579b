"""Personalization: segments, conditions, experiments, assignment (variant planning and
routing files come next)."""

from __future__ import annotations
