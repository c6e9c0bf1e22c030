"""Each field's facts on the field: what a provider derives from its model's markers when its class is
defined, what it refuses, and the Metadata listing groups derived from the registered providers."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

import pulumi
import pytest
from pydantic import Field

from providers.kit import (
    COMPUTED,
    FIXED,
    NAME,
    OBSERVED,
    REPLACE,
    SECRET,
    SECRET_OUTPUT,
    SF,
    ArtifactInputs,
    ArtifactResource,
    MetadataProvider,
    SObjectProvider,
)
from providers.registry import listing_groups


class GadgetInputs(ArtifactInputs):
    name: Annotated[str, SF("fullName", Sprocket="meta.fullName"), NAME, REPLACE] = Field(min_length=1)
    colour: Annotated[str, SF("colour")] = "red"
    key: Annotated[str, SF("oauth.key", Sprocket="creds.key"), REPLACE, SECRET_OUTPUT] = "k"
    secret: Annotated[str | None, SF("oauth.secret"), SECRET] = None
    probe: bool = False
    enabled: Annotated[bool, SF("Enabled"), FIXED] = True
    url: Annotated[str | None, COMPUTED] = None
    token: Annotated[str | None, COMPUTED, SECRET_OUTPUT] = None
    health: Annotated[str | None, OBSERVED] = None


class GadgetProvider(MetadataProvider):
    kind = "Gadget"
    inputs_model = GadgetInputs
    listing_group = 9


class SprocketProvider(GadgetProvider):
    kind = "Sprocket"


class Gadget(ArtifactResource, module="test", name="Gadget"):
    provider_class = GadgetProvider


def test_a_provider_derives_every_fact_from_its_fields() -> None:
    p = GadgetProvider
    assert p.field_map == {
        "name": "fullName",
        "colour": "colour",
        "key": "oauth.key",
        "secret": "oauth.secret",
        "enabled": "Enabled",
    }
    assert p.name_field == "name"
    assert p.replace_keys == {"name", "key"}
    assert p.secret_fields == {"secret"}
    assert p.secret_outputs == {"key", "token"}
    assert p.computed == ("url", "token")
    assert p.observed == ("health",)
    assert list(p.input_fields) == ["delete_adopted", "name", "colour", "key", "secret", "probe", "enabled"]
    assert Gadget.fixed_inputs == {"enabled": True}


def test_a_kind_sharing_the_model_takes_its_own_paths() -> None:
    assert SprocketProvider.field_map["name"] == "meta.fullName"
    assert SprocketProvider.field_map["key"] == "creds.key"
    assert SprocketProvider.field_map["colour"] == "colour"  # no path of its own: the common one


def test_outputs_are_not_inputs() -> None:
    assert Gadget.props({"name": "g"}) == {
        "delete_adopted": False, "name": "g", "colour": "red", "key": "k", "secret": None, "probe": False,
    }  # fmt: skip
    with pytest.raises(TypeError, match="unexpected keyword argument"):
        Gadget.props({"name": "g", "url": "https://x"})
    checked = GadgetProvider().check({}, {"name": "g", "url": "https://x", "health": "ok"})
    assert not checked.failures
    assert "url" not in checked.inputs and "health" not in checked.inputs


def test_the_resource_annotates_every_output_with_its_field_type() -> None:
    annotations = Gadget.__annotations__
    assert set(GadgetProvider.output_names()) <= set(annotations)
    assert annotations["colour"] == pulumi.Output[str]
    assert annotations["url"] == pulumi.Output[str | None]
    assert annotations["adopted"] == pulumi.Output[bool]
    assert "secret" in annotations  # write-only: kept as a secret output, beside its hash
    assert annotations["secret_hash"] == pulumi.Output[str | None]


@pytest.mark.parametrize(
    ("annotation", "message"),
    [
        (Annotated[str | None, COMPUTED, SF("x")], "takes no other marker"),
        (Annotated[str | None, COMPUTED, OBSERVED], "not both"),
        (Annotated[str | None, COMPUTED], "defaults to None"),  # given a default below
        (Annotated[str, SECRET, SECRET_OUTPUT], "not both"),
    ],
)
def test_a_marking_that_means_nothing_is_refused_when_the_class_is_defined(
    annotation: Any, message: str
) -> None:
    default = "x" if message == "defaults to None" else None
    model = type("BadInputs", (ArtifactInputs,), {"__annotations__": {"bad": annotation}, "bad": default})
    with pytest.raises(TypeError, match=message):
        type("BadProvider", (SObjectProvider,), {"kind": "Bad", "inputs_model": model})


def test_a_fact_declared_by_hand_is_refused() -> None:
    with pytest.raises(TypeError, match="mark the fields of GadgetInputs instead"):

        class HandMade(GadgetProvider):
            replace_keys: ClassVar[frozenset[str]] = frozenset({"colour"})


def test_a_metadata_type_declares_its_listing_group() -> None:
    with pytest.raises(TypeError, match="listing_group"):

        class Ungrouped(MetadataProvider):
            kind = "Ungrouped"
            inputs_model = GadgetInputs


def test_two_names_are_refused() -> None:
    class TwoNames(ArtifactInputs):
        a: Annotated[str, NAME] = "a"
        b: Annotated[str, NAME] = "b"

    with pytest.raises(TypeError, match="one name"):
        type("TwoNamesProvider", (SObjectProvider,), {"kind": "X", "inputs_model": TwoNames})


def test_no_listing_group_holds_more_types_than_one_call_lists() -> None:
    """listMetadata takes 3 queries per call (Metadata API Developer Guide, "listMetadata()")."""
    groups = listing_groups()
    assert groups and all(1 <= len(group) <= 3 for group in groups), groups
