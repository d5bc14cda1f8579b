"""Site config: extends chains, merge rules, environments, validation, provenance."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.config import load_network
from generator.errors import ConfigError
from tests.conftest import edit


def test_three_level_inheritance_merges_maps_and_replaces_lists(project: Path) -> None:
    network = load_network(project)
    region = network.sites["region"]
    assert region.lineage == ("region", "brand", "root")
    assert region.title == "Region"
    assert region.theme == "fancy"  # inherited from brand
    assert region.per_page == 2  # inherited from the abstract root
    assert region.params == {"footer": "Root footer", "region": "North"}  # maps merge deeply
    gate = {g.pool: g for g in region.pools}["articles"]
    assert gate.exclude == ("deep/**",)


def test_append_form_extends_an_inherited_list(project: Path) -> None:
    network = load_network(project)
    assert [item.title for item in network.sites["root"].menu] == ["Articles"]
    assert [item.title for item in network.sites["brand"].menu] == ["Articles", "News"]
    assert [item.title for item in network.sites["region"].menu] == ["Articles", "News"]


def test_a_plain_list_replaces_the_inherited_one(project: Path) -> None:
    edit(
        project / "sites/region/site.yaml",
        "params:",
        "menu:\n  - title: Only\n    url: /only/\nparams:",
    )
    network = load_network(project)
    assert [item.title for item in network.sites["region"].menu] == ["Only"]


def test_abstract_sites_are_loaded_but_not_buildable(project: Path) -> None:
    network = load_network(project)
    assert network.sites["root"].abstract
    assert [site.name for site in network.buildable_sites()] == ["brand", "other", "region"]


def test_environment_overlays_apply_per_file_nearest_wins(project: Path) -> None:
    staging = load_network(project, "staging")
    assert staging.sites["brand"].base_url == "https://staging.brand.test/"
    assert staging.sites["brand"].robots_disallow == ("/",)  # from root's staging block
    # region sets its own base_url in its plain config, which beats brand's staging overlay
    assert staging.sites["region"].base_url == "https://region.test/"
    production = load_network(project, "production")
    assert production.sites["brand"].base_url == "https://brand.test/"
    assert production.sites["brand"].robots_disallow == ()


def test_unknown_environment_is_an_error(project: Path) -> None:
    with pytest.raises(ConfigError, match="unknown environment 'stagin'.*did you mean 'staging'"):
        load_network(project, "stagin")


def test_provenance_names_file_and_line(project: Path) -> None:
    region = load_network(project).sites["region"]
    assert str(region.locations[("title",)]) == "sites/region/site.yaml:2"
    assert str(region.locations[("theme",)]) == "sites/brand/site.yaml:4"
    assert str(region.locations[("menu", 1, "title")]) == "sites/brand/site.yaml:9"
    assert str(region.locations[("pagination", "per_page")]) == "sites/root/site.yaml:5"


@pytest.mark.parametrize(
    ("site", "old", "new", "expected"),
    [
        (
            "brand",
            "title: Brand",
            "titel: Brand",
            r"sites/brand/site.yaml:2: titel: unknown key \(did you mean 'title'\?\)",
        ),
        (
            "brand",
            "title: Brand",
            "title: [Brand]",
            r"sites/brand/site.yaml:2: title: expected a string, got a list",
        ),
        (
            "root",
            "  per_page: 2",
            "  per_page: two",
            r"sites/root/site.yaml:5: pagination.per_page: expected an integer, got a string",
        ),
        (
            "root",
            "  per_page: 2",
            "  per_page: 0",
            r"sites/root/site.yaml:5: pagination.per_page: expected an integer of at least 1",
        ),
        (
            "brand",
            "base_url: https://brand.test/",
            "base_url: brand.test",
            r"sites/brand/site.yaml:3: base_url: expected an absolute http\(s\) URL",
        ),
        (
            "brand",
            "extends: root",
            "extends: rot",
            r"sites/brand/site.yaml:1: extends: site 'rot' does not exist "
            r"\(did you mean 'root'\?\)",
        ),
        (
            "brand",
            "theme: fancy",
            "theme: fanci",
            r"sites/brand/site.yaml:4: theme: theme 'fanci' does not exist "
            r"\(did you mean 'fancy'\?\)",
        ),
        (
            "brand",
            "  articles:",
            "  artcles:",
            r"sites/brand/site.yaml:6: pools: pool 'artcles' does not exist "
            r"\(did you mean 'articles'",
        ),
        (
            "root",
            "  footer: Root footer",
            "  footer: Root footer\n  password: hunter2",
            r"sites/root/site.yaml:\d+: params.password: credentials never live in configuration",
        ),
        (
            "brand",
            "title: Brand",
            "title: Brand\ntitle: Again",
            r"sites/brand/site.yaml:3: duplicate key 'title'",
        ),
        ("brand", "title: Brand", "title: [Brand", r"sites/brand/site.yaml:\d+: malformed YAML"),
        (
            "brand",
            "menu+:",
            "menu+: nope\nx:",
            r"sites/brand/site.yaml:\d+: 'menu\+' appends to a list",
        ),
    ],
)
def test_invalid_config_names_file_line_and_expectation(
    project: Path, site: str, old: str, new: str, expected: str
) -> None:
    edit(project / f"sites/{site}/site.yaml", old, new)
    with pytest.raises(ConfigError, match=expected):
        load_network(project)


def test_extends_cycle_is_reported_with_the_cycle(project: Path) -> None:
    edit(project / "sites/root/site.yaml", "abstract: true", "abstract: true\nextends: region")
    with pytest.raises(
        ConfigError,
        match=r"sites/\w+/site.yaml:\d+: extends: cycle in site "
        r"inheritance: \w+ -> \w+ -> \w+ -> \w+",
    ):
        load_network(project)


def test_missing_required_key_on_a_concrete_site(project: Path) -> None:
    edit(project / "sites/other/site.yaml", "title: Other\n", "")
    with pytest.raises(ConfigError, match=r"sites/other/site.yaml:1: missing required key 'title'"):
        load_network(project)


def test_deprecated_key_warns_and_still_works(project: Path) -> None:
    edit(project / "sites/other/site.yaml", "base_url:", "baseurl:")
    network = load_network(project)
    assert network.sites["other"].base_url == "https://other.test/"
    assert network.deprecations == (
        "sites/other/site.yaml:3: 'baseurl' is deprecated since sitegen 0.1.0 and goes in "
        "1.0.0; use 'base_url' (`sitegen migrate` rewrites it)",
    )


def test_theme_cycle_and_missing_parent(project: Path) -> None:
    (project / "themes/plain/theme.yaml").write_text("extends: fancy\ncss: [main.scss]\n")
    with pytest.raises(ConfigError, match="cycle in theme inheritance"):
        load_network(project)
    (project / "themes/plain/theme.yaml").write_text("extends: nothing\n")
    with pytest.raises(ConfigError, match=r"themes/plain/theme.yaml:1: extends: theme 'nothing'"):
        load_network(project)
