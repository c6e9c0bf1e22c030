"""What `make generate` writes is current; the resources take exactly their inputs models' input fields."""

from __future__ import annotations

from typing import Any

import pytest

from devtools import generate
from providers.kit import ArtifactResource


def test_generated_files_are_current() -> None:
    assert generate.stale() == [], "run `make generate`"


@pytest.mark.parametrize("resource", generate.RESOURCES, ids=lambda r: r.__name__)
def test_props_are_the_model_fields_with_the_model_defaults(resource: type[ArtifactResource]) -> None:
    fields = resource.provider_class.input_fields
    given = object()  # stands for any Input, Outputs included: props() passes values through unvalidated
    required = {name: given for name, field in fields.items() if field.is_required()}
    props = resource.props(required)
    assert all(props[name] is given for name in required)
    assert set(props) | set(resource.fixed_inputs) == set(fields)
    for name, field in fields.items():
        if not field.is_required() and name not in resource.fixed_inputs:
            assert props[name] == field.get_default(call_default_factory=True), name


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"assignee_id": "005000000000001AAA", "permission_sett": "X"}, "unexpected keyword argument"),
        ({"permission_set": "X"}, "missing required keyword argument(s): assignee_id"),
    ],
)
def test_a_misspelt_or_missing_input_is_a_type_error(inputs: dict[str, Any], message: str) -> None:
    from providers.permission_set_assignment import PermissionSetAssignment

    with pytest.raises(TypeError, match=message.replace("(", r"\(").replace(")", r"\)")):
        PermissionSetAssignment.props(inputs)


def test_a_fixed_input_is_not_a_keyword() -> None:
    from providers.integration_user import IntegrationUser

    with pytest.raises(TypeError, match="is_active"):
        IntegrationUser.props({"is_active": False})
