"""Site configuration: YAML with provenance, a typed schema, `extends` and environments."""

from __future__ import annotations

from generator.config.model import MenuItem, Network, PoolGate, SiteConfig, ThemeConfig
from generator.config.network import load_network

__all__ = ["MenuItem", "Network", "PoolGate", "SiteConfig", "ThemeConfig", "load_network"]
