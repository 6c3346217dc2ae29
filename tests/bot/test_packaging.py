"""constraints.txt pins every dependency pyproject.toml declares, to a version it allows, and
the README's commands and CI install with it."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]


def pins() -> dict[str, str]:
    found = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, version = line.partition("==")
        assert sep and version, f"not an exact pin: {line!r}"
        found[canonicalize_name(name)] = version
    return found


def declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project.get("optional-dependencies", {})
    return [Requirement(text) for text in [*project["dependencies"], *extras.get("test", [])]]


def test_every_declared_dependency_is_pinned_to_a_version_it_allows():
    pinned = pins()
    for requirement in declared():
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"{requirement.name} is not in constraints.txt"
        assert requirement.specifier.contains(pinned[name], prereleases=True), (
            f"constraints.txt pins {requirement.name}=={pinned[name]}, "
            f"outside pyproject.toml's {requirement.specifier}"
        )


def test_the_readme_and_ci_install_with_the_constraints():
    readme = (ROOT / "README.md").read_text()
    set_up = readme.split("## Set up", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", set_up, re.S)
    # Two commands: install and run the bot (the sandbox), install and run the tests.
    assert len(blocks) == 2
    bot, tests = blocks
    assert "pip install -c constraints.txt ." in bot and bot.strip().endswith("servicedesk sandbox")
    assert 'pip install -c constraints.txt -e ".[test]"' in tests and "scripts/test" in tests
    ci = (ROOT / ".ci" / "run").read_text()
    assert 'pip install --quiet -c constraints.txt -e ".[test]"' in ci
