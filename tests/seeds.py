"""Guide components made in Setup before the stack ran (by hand, or by another voice connector), made as an
admin would: through the Metadata API (``sf.mdapi``), no back door into the emulator."""

from __future__ import annotations

from typing import Any

from devtools.sf_emulator.client import EmulatorHandle


def aircall_named_credential_by_hand(org: EmulatorHandle) -> None:
    """The guide's `Aircall` named credential, with an admin's own (older) values."""
    md = org.mdapi()
    md.NamedCredential.create(
        md.NamedCredential(fullName="Aircall", label="Old", endpoint="https://old.example/",
                           protocol="Password", principalType="NamedUser", username="old",
                           password="old-password")
    )  # fmt: skip


def auth_provider_by_hand(org: EmulatorHandle, **fields: Any) -> None:
    """The guide's `ECI_Auth_Provider`, as another voice connector's setup left it."""
    md = org.mdapi()
    md.AuthProvider.create(
        md.AuthProvider(**{"fullName": "ECI_Auth_Provider", "friendlyName": "Old name",
                           "providerType": "Salesforce", "consumerKey": "old-key-123456",
                           "consumerSecret": "old-secret-123456", **fields})
    )  # fmt: skip
