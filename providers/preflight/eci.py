"""Einstein Conversation Insights is enabled: Metadata ``ConversationalIntelligenceSettings`` (fullName
``ConversationalIntelligence``), ``enableCallCoaching`` (Metadata API Developer Guide,
"ConversationalIntelligenceSettings")."""

from __future__ import annotations

from typing import Any

from providers.preflight.runner import PASS, Blocker, Check, Run, Verdict

ECI_SETTINGS = "ConversationalIntelligence"


def _settings(run: Run) -> dict[str, Any] | None:
    records = run.client.metadata_read(
        "ConversationalIntelligenceSettings", [ECI_SETTINGS], artifact="Preflight ECI settings"
    )
    return records[0] if records else None


def _enabled(run: Run, record: dict[str, Any] | None) -> Verdict:
    if record and record.get("enableCallCoaching"):
        return PASS
    return Verdict(
        [
            Blocker(
                "Einstein Conversation Insights is not enabled in this org",
                "guide: Configure Aircall with ECI — turn the feature on in Setup → Einstein Conversation "
                "Insights (needs Customize Application), then run `pulumi up` again",
            )
        ]
    )


ECI_ENABLED: Check[dict[str, Any] | None] = Check("ECI enabled", _settings, _enabled)
