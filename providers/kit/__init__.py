"""The provider kit: what every artifact module is made of. A module declares only what is particular to its
artifact; the kit does the rest (check, diff, create or adopt, read, update, delete, secrets, the org binding,
the create journal)::

    class CustomSiteInputs(AdoptableInputs):                  # the ONE declaration of its properties
        full_name: Annotated[str, SF("fullName"), NAME, REPLACE] = guide.SITE_NAME
        label: Annotated[str, SF("masterLabel")] = guide.SITE_NAME
        active: Annotated[bool, SF("active")] = True
        guest_user_id: Annotated[str | None, COMPUTED] = None   # an output only

    class CustomSiteProvider(MetadataProvider):              # or SObjectProvider
        kind = "CustomSite"                                   # the Metadata type (or the sObject)
        inputs_model = CustomSiteInputs
        listing_group = 1                                     # Metadata only: see MetadataProvider

        def computed_outputs(self, artifact_id, inputs, live, olds): ...   # only the hooks it needs

    class CustomSite(ArtifactResource, module="eci-aircall", name="CustomSite"):
        provider_class = CustomSiteProvider                   # keyword arguments: the model's inputs

What a newcomer reads to add one: :mod:`providers.kit.inputs` (the facts a field carries),
:mod:`providers.kit.hooks` (what a module may declare and override) and :mod:`providers.kit.kinds` (the
Metadata and sObject calls), then docs/contracts.md "Adding an artifact". The rest is the machinery:
:mod:`~providers.kit.provider` (check, diff, org binding, common outputs), :mod:`~providers.kit.artifact`
(the lifecycle), :mod:`~providers.kit.journal` (ownership across a crash), :mod:`~providers.kit.values`
(wire values, hashes, paths) and :mod:`~providers.kit.resource` (the program side).

Shape of the state (outputs) of every resource: each input under its own name, a ``SECRET`` one wrapped as
a secret (encrypted in state; ``refresh`` returns it as the input it cannot read back, so an unchanged secret
never shows in a diff), with its ``<field>_hash`` (salted PBKDF2: how a changed input is detected) and
``write_only_fields`` naming them (their drift cannot be seen by ``refresh``); ``adopted`` (True when create
found the artifact already there); ``org``; an artifact's ``identity``; the ``COMPUTED`` and ``OBSERVED``
outputs. ``SECRET_OUTPUT`` values are returned wrapped as secrets too.
"""

from providers.kit.artifact import OBSERVED_BEFORE, ArtifactProvider
from providers.kit.hooks import ArtifactHooks, Live
from providers.kit.inputs import (
    COMPUTED,
    DEVELOPER_NAME,
    FIXED,
    NAME,
    OBSERVED,
    REPLACE,
    SECRET,
    SECRET_OUTPUT,
    SF,
    AdoptableInputs,
    ArtifactInputs,
    Email,
    Fact,
    Facts,
    InputError,
)
from providers.kit.journal import CreateJournal, JournalEntry
from providers.kit.kinds import MetadataProvider, SObjectProvider, listed_identity, listed_together
from providers.kit.provider import ORG_OUTPUT, NonArtifactProvider, ProviderBase
from providers.kit.resource import ArtifactResource
from providers.kit.values import (
    PROVIDER_KEY,
    get_path,
    hash_secret,
    is_unknown,
    merge,
    normalize,
    same_id,
    secret_matches,
    set_path,
    unwrap,
)

__all__ = [
    "COMPUTED",
    "DEVELOPER_NAME",
    "FIXED",
    "NAME",
    "OBSERVED",
    "OBSERVED_BEFORE",
    "ORG_OUTPUT",
    "PROVIDER_KEY",
    "REPLACE",
    "SECRET",
    "SECRET_OUTPUT",
    "SF",
    "AdoptableInputs",
    "ArtifactHooks",
    "ArtifactInputs",
    "ArtifactProvider",
    "ArtifactResource",
    "CreateJournal",
    "Email",
    "Fact",
    "Facts",
    "InputError",
    "JournalEntry",
    "Live",
    "MetadataProvider",
    "NonArtifactProvider",
    "ProviderBase",
    "SObjectProvider",
    "get_path",
    "hash_secret",
    "is_unknown",
    "listed_identity",
    "listed_together",
    "merge",
    "normalize",
    "same_id",
    "secret_matches",
    "set_path",
    "unwrap",
]
