"""Recommendations: session models (popularity, co-visitation, transitions, sequential rules,
hybrid) and their offline evaluation."""

from __future__ import annotations
