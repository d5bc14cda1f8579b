"""Assets: Sass, CSS/JS minification, fingerprints, SRI, images and static files."""

from __future__ import annotations

from generator.assets.bundle import AssetBundle, AssetRef, build_site_assets

__all__ = ["AssetBundle", "AssetRef", "build_site_assets"]
