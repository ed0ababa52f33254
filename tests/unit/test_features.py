"""The feature list: each feature declares its own commands, repositories and prompt files."""

from __future__ import annotations

from pathlib import Path

from facilitator.bootstrap import FEATURES, build_registry, repositories
from facilitator.i18n import SUPPORTED_LOCALES

PROMPTS = Path(__file__).resolve().parents[2] / "prompts"
# Prompt files of the engine (core, errors, forms, help texts) and of the adapters' surfaces.
ENGINE_PROMPTS = {"commands", "core", "errors", "forms", "console", "slack", "words"}


def test_every_command_of_the_registry_comes_from_exactly_one_feature() -> None:
    declared = [spec.name for feature in FEATURES for spec in feature.commands]
    assert len(declared) == len(set(declared))
    assert sorted(declared) == sorted(spec.name for spec in build_registry().all())


def test_feature_names_are_unique_and_name_their_folder() -> None:
    names = [feature.name for feature in FEATURES]
    assert len(names) == len(set(names))
    folders = Path(__file__).resolve().parents[2] / "facilitator" / "features"
    assert {p.name for p in folders.iterdir() if (p / "feature.py").exists()} == set(names)


def test_every_prompt_file_belongs_to_a_feature_or_the_engine_and_exists_in_every_locale() -> None:
    claimed = [name for feature in FEATURES for name in feature.prompts]
    assert len(claimed) == len(set(claimed))
    for locale in SUPPORTED_LOCALES:
        files = {p.stem for p in (PROMPTS / locale).glob("*.toml")}
        assert files == set(claimed) | ENGINE_PROMPTS, locale


def test_each_repository_protocol_is_declared_by_one_feature_with_a_class_that_fits_it() -> None:
    declared = [kind for feature in FEATURES for kind in feature.repositories]
    assert len(declared) == len(set(declared))
    for kind, factory in repositories().items():
        wanted = {name for name in vars(kind) if not name.startswith("_")}
        assert isinstance(factory, type)
        missing = {name for name in wanted if not callable(getattr(factory, name, None))}
        assert missing == set(), (kind.__name__, missing)
