"""Analytics: the tracking pixel, access-log and JSONL ingestion, the events store."""

from __future__ import annotations
