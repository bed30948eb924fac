"""Provenance of every threshold (fleck.config): each value a named set changes is explained."""

from __future__ import annotations

import dataclasses

import pytest

from fleck.config import CONFIGS, FITTED_STRICT, SkinConfig, describe, provenance


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_every_changed_skin_value_has_its_own_provenance(name):
    skin, default = CONFIGS[name].skin, SkinConfig()
    notes = dict(skin.notes)
    for f in dataclasses.fields(SkinConfig):
        if f.name in ("name", "notes") or getattr(skin, f.name) == getattr(default, f.name):
            continue
        assert f.name in notes, f"{name}: {f.name} changed without a note"
        assert provenance(skin, f.name) == notes[f.name] != f.metadata["provenance"]


def test_describe_shows_the_note_not_the_default_provenance():
    rows = {key: (value, why) for key, value, why in describe(FITTED_STRICT)}
    value, why = rows["skin.table_stage1_min"]
    assert value == 0.5 and "0.5" in why and "readable" in why
    assert "skin.notes" not in rows
    assert rows["skin.log_gain"][1].startswith("spec 1.2")  # unchanged values keep the default's
