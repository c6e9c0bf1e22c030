"""The program side of every resource: a ``pulumi.dynamic.Resource`` whose keyword arguments are its
provider's input fields and whose ``pulumi.Output`` attributes are its provider's outputs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import pulumi
import pulumi.dynamic as dyn

from providers.kit.provider import ORG_OUTPUT, ProviderBase

#: The types of the outputs every resource (or every artifact) has besides its model's fields.
COMMON_OUTPUTS: Mapping[str, Any] = {
    "adopted": bool,
    ORG_OUTPUT: dict[str, Any] | None,
    "identity": dict[str, Any] | None,
    "write_only_fields": list[str],
}


class ArtifactResource(dyn.Resource):
    """Base of each module's ``pulumi.dynamic.Resource``. Its keyword arguments are the input fields of its
    provider's ``inputs_model`` (the one declaration of an artifact's properties), each a ``pulumi.Input``:
    values may be Outputs of other resources, so they are not validated here but in the provider's ``check``.
    An input not given takes the model's default; a name the model does not have, or a required input left
    out, is a TypeError as for any keyword argument. Also: output placeholders, secrets marked.

    Its ``pulumi.Output`` annotations are derived from the model when the class is defined (every output,
    typed as its field): nothing in the program reads them statically (``components`` reads an output by
    name), so they are written for ``help()`` and ``typing.get_type_hints``, never by hand."""

    provider_class: ClassVar[type[ProviderBase]]
    #: Inputs the class sets itself (not keyword arguments): the model's ``FIXED`` fields, e.g. ``is_active``.
    fixed_inputs: ClassVar[Mapping[str, Any]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "provider_class" not in vars(cls):
            return  # a shared base (OAuthApp): its concrete resources name their provider
        provider = cls.provider_class
        cls.fixed_inputs = provider.facts.fixed_inputs
        types = {**provider.facts.types, **COMMON_OUTPUTS}
        derived = {n: pulumi.Output[types.get(n, str | None)] for n in provider.output_names()}  # type: ignore[misc]
        cls.__annotations__ = {**derived, **vars(cls).get("__annotations__", {})}

    def __init__(
        self, resource_name: str, opts: pulumi.ResourceOptions | None = None, **inputs: pulumi.Input[Any]
    ) -> None:
        provider = self.provider_class()
        props = {**self.props(inputs), **self.fixed_inputs}
        for secret in provider.secret_fields:
            if props.get(secret) is not None:
                props[secret] = pulumi.Output.secret(props[secret])
        for output in provider.output_names():
            props.setdefault(output, None)
        provider.stack = f"{pulumi.get_project()}/{pulumi.get_stack()}"
        secret_outs = sorted(provider.secret_fields | provider.secret_outputs)
        if secret_outs:
            opts = pulumi.ResourceOptions.merge(
                opts, pulumi.ResourceOptions(additional_secret_outputs=secret_outs)
            )
        super().__init__(provider, resource_name, props, opts)

    @classmethod
    def props(cls, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """The resource's input properties: ``inputs`` checked by name against the model, defaults filled."""
        input_fields = cls.provider_class.input_fields
        keywords = {name: f for name, f in input_fields.items() if name not in cls.fixed_inputs}
        unknown = sorted(set(inputs) - set(keywords))
        if unknown:
            raise TypeError(f"{cls.__name__}() got unexpected keyword argument(s): {', '.join(unknown)}")
        missing = sorted(name for name, f in keywords.items() if f.is_required() and name not in inputs)
        if missing:
            raise TypeError(f"{cls.__name__}() missing required keyword argument(s): {', '.join(missing)}")
        return {
            name: inputs[name] if name in inputs else f.get_default(call_default_factory=True)
            for name, f in keywords.items()
        }
