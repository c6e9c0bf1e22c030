"""Would Salesforce let this stack create the site and the connected app? Asked with a check-only deploy.

Two prerequisites have no read-only API:

* Site domain registered — nothing says so before a site exists (the Domain object lists custom domains only;
  Object Reference, "Domain"). A site existing proves it, so any ``Site`` row passes; otherwise the site is
  about to be created, and goes into the check-only deploy.
* Connected-app creation allowed (``oauth_app_kind`` ConnectedApp) — Salesforce publishes no readable setting
  for the Spring '26 block (Help 005228017; the "Allow creation of connected apps" toggle has no field in
  ExternalClientAppSettings, API 63.0). If ``ECI_Connected_App`` already exists nothing needs creating and the
  check passes (editing stays allowed); otherwise it goes into the check-only deploy.

The check-only deploy is the one way Salesforce answers "would this create succeed?" without saving: Metadata
API ``deploy`` with ``DeployOptions.checkOnly`` ("the components aren't saved to the organization": Metadata
API Developer Guide, "deploy()", "DeployOptions") of a package holding the components still to be created
(minimal valid content), polled with ``checkDeployStatus`` (its ``DeployResult.details.componentFailures``).
ONE deploy for both, only when one of them is missing. It is a validation, not a write: the emulator runs it
inside a store transaction that it rolls back, and a request whose writes were rolled back is not counted as
a write (devtools/sf_emulator/metadata_api.py, deploy; store.py, ``transaction``), so ``calls()["writes"]``
stays 0. A refusal for a reason the guide has a step for becomes a blocker with the create path's own fix
(guide step "Set Up the Salesforce Site" / ``eci-aircall:oauthAppKind``); a refusal of another kind, or a
validation still queued after the bounded poll, is reported in the ``unverified`` output instead.
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass, field
from typing import Any

from providers import guide
from providers.connected_app import SWITCH_TO_ECA
from providers.custom_site import SITE_STEP, CustomSiteInputs, CustomSiteProvider
from providers.preflight.components import listed
from providers.preflight.runner import Blocker, Check, Run, Verdict

MD_NS = "http://soap.sforce.com/2006/04/metadata"
# (Metadata type, fullName, path in the zip, fields) of a component the deploy validates.
Component = tuple[str, str, str, dict[str, str]]


def _validation_site() -> dict[str, str]:
    """Content for the check-only deploy: the site exactly as CustomSite creates it with the guide's values
    (the WSDL's required elements included). Never saved."""
    record = CustomSiteProvider().to_salesforce(CustomSiteInputs().model_dump(), creating=True)
    record.pop("fullName")  # the file name carries it
    return {
        key: str(record[key]).lower() if isinstance(record[key], bool) else str(record[key])
        for key in sorted(record)
    }


VALIDATION_SITE = _validation_site()
# The connected app's required elements; never saved, so the placeholder contact email reaches no one.
VALIDATION_CONNECTED_APP: dict[str, str] = {
    "contactEmail": "preflight-validation@example.com",
    "label": guide.CONNECTED_APP_LABEL,
}


@dataclass
class Validation:
    """What was validated, and Salesforce's DeployResult (None: still queued after the poll)."""

    components: list[Component] = field(default_factory=list)
    result: dict[str, Any] | None = None


def _site_missing(run: Run) -> bool:
    """True when no site exists yet (so the domain is not proven and the site is still to be created)."""
    return not run.client.query("SELECT Id, Name FROM Site LIMIT 1", artifact="Preflight site domain")


def _validate(run: Run) -> Validation:
    site = run.start(_site_missing)
    app = (
        run.start(listed, "ConnectedApp", guide.CONNECTED_APP_NAME)
        if run.app_kind == "ConnectedApp"
        else None
    )
    validation = Validation()
    if site.result():
        validation.components.append(
            ("CustomSite", guide.SITE_NAME, f"sites/{guide.SITE_NAME}.site", VALIDATION_SITE)
        )
    if app is not None and app.result() is None:
        path = f"connectedApps/{guide.CONNECTED_APP_NAME}.connectedApp"
        validation.components.append(
            ("ConnectedApp", guide.CONNECTED_APP_NAME, path, VALIDATION_CONNECTED_APP)
        )
    if validation.components:
        validation.result = run.client.metadata_validate_deploy(
            package_zip(validation.components), artifact="Preflight validation deploy"
        )
    return validation


def _verdict(run: Run, validation: Validation) -> Verdict:
    if not validation.components:
        return Verdict(outputs={"unverified": []})
    if validation.result is None:
        return Verdict(
            outputs={
                "unverified": [
                    f"{type_name} {name}: the check-only deploy was still queued in Salesforce after the "
                    "poll; the create will say whether it is refused"
                    for type_name, name, _, _ in validation.components
                ]
            }
        )
    details = validation.result.get("details") or {}
    failures = {
        str(f.get("componentType") or ""): str(f.get("problem") or "")
        for f in details.get("componentFailures") or []
    }
    verdict = Verdict(outputs={"unverified": []})
    # Guide order: the site (Set Up the Salesforce Site) before the connected app.
    for type_name, name, _, _ in validation.components:
        problem = failures.get(type_name)
        if problem is None:
            continue
        lowered = problem.lower()
        if type_name == "CustomSite" and "register" in lowered and "domain" in lowered:
            verdict.blockers.append(
                Blocker(
                    f"the {guide.SITE_NAME} site cannot be created (a check-only deploy was refused; "
                    f"Salesforce said: {problem})",
                    SITE_STEP,
                )
            )
        elif (
            type_name == "ConnectedApp"
            and "connected app" in lowered
            and ("creat" in lowered or "disabled" in lowered)
        ):
            verdict.blockers.append(
                Blocker(
                    "this org does not allow creating new connected apps (Salesforce blocks it since Spring "
                    f"'26 unless Support re-enables it; a check-only deploy was refused: {problem})",
                    f"create an external client app instead: `{SWITCH_TO_ECA}`, then run `pulumi up` again "
                    "(or ask Salesforce Support to allow connected app creation in this org)",
                    "oauth_app_kind",
                )
            )
        else:
            verdict.outputs["unverified"].append(
                f"{type_name} {name}: a check-only deploy of minimal content was refused ({problem}); the "
                "create will say whether this applies to the real component"
            )
    return verdict


CREATION: Check[Validation] = Check(
    "Site and connected app creation",
    _validate,
    _verdict,
    needs=("shared_eci", "oauth_app_kind"),
    applies=lambda run: run.shared_eci == "create",
)


def package_zip(components: list[Component]) -> bytes:
    """A singlePackage deploy zip: package.xml naming each (type, fullName), and each component's file, whose
    root element is the type name in the metadata namespace (Metadata API guide, "Deploying and Retrieving
    Metadata": package.xml ``types/members``/``types/name``)."""
    package = ET.Element("Package", xmlns=MD_NS)
    for type_name, name, _, _ in components:
        types = ET.SubElement(package, "types")
        ET.SubElement(types, "members").text = name
        ET.SubElement(types, "name").text = type_name
    ET.SubElement(package, "version").text = "63.0"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("package.xml", ET.tostring(package, encoding="utf-8", xml_declaration=True))
        for type_name, _, path, fields in components:
            root = ET.Element(type_name, xmlns=MD_NS)
            for key, value in fields.items():
                ET.SubElement(root, key).text = value
            archive.writestr(path, ET.tostring(root, encoding="utf-8", xml_declaration=True))
    return buffer.getvalue()
