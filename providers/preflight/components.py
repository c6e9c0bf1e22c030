"""The guide's components that are already in the org, and what `up` would do with each.

On a new stack, a component it is to create that exists already was not made by this stack (another voice
connector's, or set up by hand): `up` would refuse it, so Preflight does, before anything is written, naming
the config's opt-in (issue 14: never change what it did not create). Only a create of this stack that was cut
short (its create journal entry names the record Id) makes it the stack's own. With the opt-in
(``adoptAircallNamedCredential``, ``sharedEci`` adopt) `up` adopts it; with ``sharedEci`` skip it leaves the
shared ones as they are, and they must exist. Either way the person running `preview` is told, in plain words,
who created each component and when, and what `up` will do with it.

One ``listMetadata`` call lists up to three types (Metadata API Developer Guide, "listMetadata()"), so two
calls (the listing groups the Metadata providers share, kept by the client and shared with their own
look-ups) cover every component, with who created each (``createdByName``, ``createdById``) and when
(``createdDate``): the FileProperties fields.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from providers import guide
from providers.auth_provider import AuthProviderProvider
from providers.config.keys import ADOPT_AIRCALL_NAMED_CREDENTIAL, DELETE_ADOPTED, SHARED_ECI
from providers.connected_app import ConnectedAppProvider
from providers.custom_site import CustomSiteProvider
from providers.external_client_app import ExternalClientAppProvider
from providers.kit import listed_together
from providers.kit.values import iso
from providers.named_credential import NamedCredentialProvider
from providers.preflight.runner import Blocker, Check, Run, Verdict, made_by_this_stack, provenance

Component = tuple[str, str]  # (Metadata type, fullName)
Found = list[tuple[Component, dict[str, Any] | None]]

#: Per Metadata type, how the config opts in to taking over an existing component (each provider's own hint).
ADOPTION_HINTS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    provider.kind: provider().adopt_hint
    for provider in (
        NamedCredentialProvider,
        ConnectedAppProvider,
        ExternalClientAppProvider,
        AuthProviderProvider,
        CustomSiteProvider,
    )
}
# (Metadata type, fullName, guide step) of what a shared ECI setup consists of besides the OAuth app.
SHARED_ARTIFACTS: tuple[tuple[str, str, str], ...] = (
    ("AuthProvider", guide.AUTH_PROVIDER_NAME, "Add ECI as an Authorized Provider"),
    ("CustomSite", guide.SITE_NAME, "Set Up the Salesforce Site"),
    ("NamedCredential", guide.ECI_NAMED_CREDENTIAL, "Add ECI Named Credentials"),
)
AIRCALL: Component = ("NamedCredential", guide.AIRCALL_NAMED_CREDENTIAL)


def shared_wanted(run: Run) -> list[tuple[str, str, str]]:
    """The shared components, the OAuth app of the configured kind first (the guide's order)."""
    app_type = "ConnectedApp" if run.app_kind == "ConnectedApp" else "ExternalClientApplication"
    return [(app_type, guide.CONNECTED_APP_NAME, "Set Up the Connected App"), *SHARED_ARTIFACTS]


def listed(run: Run, type_name: str, full_name: str) -> dict[str, Any] | None:
    """What ``listMetadata`` says of the component: its identity (``id``, ``created_date``, ``created_by_id``:
    what a create journal entry claims by) and its creator's name; None when there is no such component.
    Listed with the rest of its listing group, the listing kept and shared: two calls for all five."""
    along = listed_together(type_name)
    listing = run.client.metadata_list(
        type_name, artifact="Preflight existing components", along=along, reuse=True
    )
    for props in listing:
        if str(props.get("fullName") or "").lower() == full_name.lower():
            return {
                "id": props.get("id") or None,
                "created_date": iso(props.get("createdDate")),
                "created_by_id": props.get("createdById") or None,
                "created_by_name": props.get("createdByName") or None,
            }
    return None


def _look_up(run: Run, components: list[Component]) -> Found:
    futures = [run.start(listed, type_name, name) for type_name, name in components]
    return [(component, future.result()) for component, future in zip(components, futures, strict=True)]


# --- on a new stack: nothing it is to create is someone else's --------------------------------------------
def _guide_components(run: Run) -> list[Component]:
    """The Aircall named credential, and with ``sharedEci`` create the shared ones (the guide's order)."""
    wanted = [AIRCALL]
    if run.shared_eci == "create":
        wanted += [(type_name, name) for type_name, name, _ in shared_wanted(run)]
    return wanted


def _existing(run: Run) -> Found:
    return _look_up(run, _guide_components(run))


def _not_taken(run: Run, found: Found) -> Verdict:
    verdict = Verdict()
    refused: dict[str, list[str]] = {}  # the opt-in hint → the components it would let `up` take over
    for (type_name, name), identity in found:
        if identity is None:
            continue
        artifact = f"{type_name} {name}"
        made = provenance(identity)
        if made_by_this_stack(run, artifact, identity):
            verdict.notices.append(
                f"{artifact} is in the org ({made}) from a create of this stack that was cut short: `up` "
                "takes it as its own and brings it to the guide's settings"
            )
        elif (type_name, name) == AIRCALL and run.inputs.get("adopt_aircall_named_credential"):
            verdict.notices.append(
                _adopting(artifact, made, f"{ADOPT_AIRCALL_NAMED_CREDENTIAL.full_name} true")
            )
        else:
            hint = ADOPTION_HINTS[type_name]({"full_name": name})
            refused.setdefault(hint, []).append(f"{artifact} ({made})")
    for hint, artifacts in refused.items():
        aircall = artifacts[0].startswith(" ".join(AIRCALL) + " ")
        what = (
            f"{artifacts[0]} is already in this org and was not created by this stack, so `up` would refuse "
            "to change it"
            if len(artifacts) == 1
            else f"{'; '.join(artifacts)} are already in this org and were not created by this stack, so "
            "`up` would refuse to change them"
        )
        verdict.blockers.append(
            Blocker(
                f"{what}; nothing was written",
                hint,
                "adopt_aircall_named_credential" if aircall else "shared_eci",
            )
        )
    return verdict


def _adopting(artifact: str, made: str, opt_in: str) -> str:
    return (
        f"{artifact} is already in the org ({made}); `up` will adopt it ({opt_in}): it brings it to the "
        f"guide's settings where they differ, and destroy leaves it in place (unless "
        f"{DELETE_ADOPTED.full_name})"
    )


NOT_TAKEN: Check[Found] = Check(
    "Guide components this stack is to create",
    _existing,
    _not_taken,
    needs=("adopt_aircall_named_credential", "shared_eci", "oauth_app_kind"),
    applies=lambda run: run.new_stack,
)


# --- sharedEci adopt / skip: the shared components exist -------------------------------------------------
def _shared(run: Run) -> Found:
    return _look_up(run, [(type_name, name) for type_name, name, _ in shared_wanted(run)])


def _shared_verdict(run: Run, found: Found) -> Verdict:
    verdict = Verdict()
    steps = {(type_name, name): step for type_name, name, step in shared_wanted(run)}
    missing = [f"{t} {n} (guide: {steps[(t, n)]})" for (t, n), identity in found if identity is None]
    if missing:
        verdict.blockers.append(
            Blocker(
                f"{SHARED_ECI.full_name} is {run.shared_eci!r} but these shared ECI artifacts do not exist: "
                + "; ".join(missing),
                "create them by following those guide steps (or another voice connector's setup), or run "
                f"`pulumi config set {SHARED_ECI.full_name} create` to let this stack create them",
                "shared_eci",
            )
        )
    if run.new_stack:
        for (type_name, name), identity in found:
            if identity is None:
                continue
            artifact, made = f"{type_name} {name}", provenance(identity)
            if run.shared_eci == "adopt":
                verdict.notices.append(_adopting(artifact, made, f"{SHARED_ECI.full_name} adopt"))
            else:
                verdict.notices.append(
                    f"{artifact} is already in the org ({made}); `up` uses it as it is "
                    f"({SHARED_ECI.full_name} skip): it neither changes nor deletes it"
                )
    return verdict


SHARED_EXIST: Check[Found] = Check(
    "Shared ECI artifacts",
    _shared,
    _shared_verdict,
    needs=("shared_eci", "oauth_app_kind"),
    applies=lambda run: run.shared_eci != "create",
)
