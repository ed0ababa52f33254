"""The distribution's licence: the MIT text in LICENSE, declared the SPDX way in pyproject."""

from __future__ import annotations

import re
import tomllib

from tests.conftest import REPO_ROOT


def test_license_file_holds_the_mit_text_of_the_contributors() -> None:
    text = (REPO_ROOT / "LICENSE").read_text("utf-8")
    assert text.startswith("MIT License\n")
    assert "Copyright (c) 2026 Facilitator contributors" in text
    assert "Permission is hereby granted, free of charge" in text
    assert 'THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND' in text


def test_pyproject_declares_the_license_as_an_spdx_expression_with_its_file() -> None:
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text("utf-8"))
    project = pyproject["project"]
    # The table form ({ text = "MIT" }) is deprecated by setuptools (PEP 639).
    assert project["license"] == "MIT"
    assert project["license-files"] == ["LICENSE"]
    assert not any(c.startswith("License ::") for c in project.get("classifiers", []))
    # setuptools reads both fields from version 77 on.
    [requirement] = [r for r in pyproject["build-system"]["requires"] if "setuptools" in r]
    found = re.fullmatch(r"setuptools>=(\d+)(\.\d+)*", requirement)
    assert found is not None and int(found.group(1)) >= 77
