"""The provider base classes without Salesforce: an in-memory artifact store stands behind the hooks, so these
tests pin down check / diff / create-or-adopt / read / update / delete and the secret handling themselves."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import pytest
from pulumi.output import Unknown
from pulumi.runtime import rpc
from pydantic import Field

from providers.kit import (
    COMPUTED,
    NAME,
    REPLACE,
    SECRET,
    SF,
    ArtifactInputs,
    ArtifactProvider,
    CreateJournal,
    Email,
    Live,
    secret_matches,
    unwrap,
)
from salesforce import SalesforceError
from tests.support.kept_secrets import kept_secret


class WidgetInputs(ArtifactInputs):
    name: Annotated[str, SF("Name"), NAME, REPLACE] = Field(min_length=1)
    size: Annotated[int, SF("Size")] = 1
    owner: Annotated[Email | None, SF("Owner")] = None
    password: Annotated[str | None, SF("Pw"), SECRET] = None
    widget_id: Annotated[str | None, COMPUTED] = None


class WidgetProvider(ArtifactProvider):
    """A fake artifact kept in a dict: the hooks are all a module would write."""

    kind = "Widget"
    inputs_model = WidgetInputs

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[str, dict[str, Any]] = {}
        self.calls: list[str] = []
        self.fail_create_with: SalesforceError | None = None
        self.visible_before_create = True  # False: find sees nothing until create ran (a race / lost reply)
        self.store_on_create = True  # False: a failed create wrote nothing

    #: The user this fake connects as, and who it records as the creator of what it creates.
    user_id = "005000000000ME1"

    def org_key(self) -> str:
        return "memory://widgets"

    def connecting_user_id(self) -> str:
        return self.user_id

    def find(self, inputs: Mapping[str, Any]) -> Live | None:
        self.calls.append("find")
        if not self.visible_before_create and "create" not in self.calls:
            return None
        record = self.store.get(str(inputs["name"]))
        return Live(str(inputs["name"]), self.from_salesforce(record), record) if record else None

    def read_live(self, id_: str, outputs: Mapping[str, Any]) -> Live | None:
        self.calls.append("read")
        record = self.store.get(id_)
        return Live(id_, self.from_salesforce(record), record) if record else None

    def identity(
        self, live: Live, inputs: Mapping[str, Any], *, reuse: bool = False
    ) -> dict[str, Any] | None:
        # As a Metadata artifact's: the name is the state id, the record Id comes from the org's listing.
        record = self.store.get(live.id)
        if record is None:
            return None
        return {k: record.get(f) for k, f in (("id", "Id"), ("created_date", "CreatedDate"),
                                               ("created_by_id", "CreatedById"))}  # fmt: skip

    def create_live(self, inputs: Mapping[str, Any], record: dict[str, Any]) -> str:
        self.calls.append("create")
        stamp = {
            "Id": f"0Wd{len(self.calls):012d}",
            "CreatedDate": datetime.now(UTC).isoformat(),
            "CreatedById": self.user_id,
        }
        if self.store_on_create:
            self.store[str(inputs["name"])] = {**record, **stamp}
        if self.fail_create_with is not None:
            raise self.fail_create_with
        return str(inputs["name"])

    def update_live(
        self, id_: str, inputs: Mapping[str, Any], record: dict[str, Any], live: Live | None
    ) -> None:
        self.calls.append("update")
        self.store[id_].update(record)

    def delete_live(self, id_: str, outputs: Mapping[str, Any]) -> None:
        self.calls.append("delete")
        if id_ not in self.store:
            raise SalesforceError("INVALID_CROSS_REFERENCE_KEY", "no such widget", artifact=f"Widget {id_}")
        del self.store[id_]

    def computed_outputs(
        self, artifact_id: str, inputs: Mapping[str, Any], live: Live | None, olds: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        return {"widget_id": f"W-{artifact_id}"}


def created(provider: WidgetProvider, **inputs: Any) -> tuple[str, dict[str, Any]]:
    checked = provider.check({}, {"__provider": "p", **inputs})
    assert not checked.failures
    result = provider.create(checked.inputs)
    return result.id, dict(result.outs or {})


# ---- check
# ---------------------------------------------------------------------------------------------------
def test_check_failures_name_the_property_and_never_echo_the_value() -> None:
    result = WidgetProvider().check({}, {"name": "", "owner": "not-an-email", "size": "big"})
    by_prop = {f.property: f.reason for f in result.failures}
    assert set(by_prop) == {"name", "owner", "size"}
    assert "not-an-email" not in " ".join(by_prop.values())


def test_check_applies_defaults_and_marks_secret_inputs_secret() -> None:
    result = WidgetProvider().check({}, {"__provider": "p", "name": "w", "password": "hunter2-secret"})
    assert result.inputs["size"] == 1 and result.inputs["delete_adopted"] is False
    assert rpc.is_rpc_secret(result.inputs["password"]) and result.inputs["__provider"] == "p"


def test_check_skips_unknown_values_in_preview() -> None:
    result = WidgetProvider().check({}, {"name": Unknown(), "owner": Unknown()})
    assert result.failures == []
    assert isinstance(result.inputs["name"], Unknown)


def test_a_list_with_an_unknown_element_is_unknown_too() -> None:
    class Tagged(WidgetInputs):
        tags: list[str] = []

    class TaggedProvider(WidgetProvider):
        inputs_model = Tagged

    provider = TaggedProvider()
    result = provider.check({}, {"name": "w", "tags": ["a", Unknown()]})
    assert result.failures == []
    _, outs = created(provider, name="w", tags=["a"])
    assert not provider.diff("w", outs, {"name": "w", "tags": ["a", Unknown()]}).changes


# ---- diff
# ----------------------------------------------------------------------------------------------------
def test_diff_compares_inputs_with_previous_outputs() -> None:
    provider = WidgetProvider()
    _, outs = created(provider, name="w", size=2)
    assert not provider.diff("w", outs, {"name": "w", "size": 2.0}).changes  # protobuf float == int
    update = provider.diff("w", outs, {"name": "w", "size": 3})
    assert update.changes and update.replaces == []
    replace = provider.diff("w", outs, {"name": "v", "size": 2})
    assert replace.replaces == ["name"] and replace.delete_before_replace is True


def test_unknowns_never_count_as_a_change() -> None:
    provider = WidgetProvider()
    _, outs = created(provider, name="w", size=2, password="pw-1")
    diff = provider.diff("w", outs, {"name": Unknown(), "size": Unknown(), "password": Unknown()})
    assert not diff.changes and diff.replaces == []


def test_diff_makes_no_provider_call() -> None:
    provider = WidgetProvider()
    _, outs = created(provider, name="w")
    provider.calls.clear()
    provider.diff("w", outs, {"name": "w", "size": 5})
    assert provider.calls == []


# ---- secrets
# -------------------------------------------------------------------------------------------------
def test_write_only_secret_is_kept_as_a_secret_and_a_salted_hash() -> None:
    provider = WidgetProvider()
    _, outs = created(provider, name="w", password="pw-secret-1")
    # Wrapped as a secret (the engine encrypts it in state): refresh returns it as the input it cannot read.
    assert kept_secret(outs["password"]) == "pw-secret-1"
    plain = unwrap(outs)[0]
    assert secret_matches("pw-secret-1", plain["password_hash"])
    assert plain["write_only_fields"] == ["password"]
    # A second widget with the same password gets a different salt.
    _, other = created(provider, name="v", password="pw-secret-1")
    assert other["password_hash"] != plain["password_hash"]


def test_changed_secret_is_detected_and_an_unchanged_one_keeps_its_hash() -> None:
    provider = WidgetProvider()
    _, outs = created(provider, name="w", password="pw-1")
    assert not provider.diff("w", outs, {"name": "w", "password": "pw-1"}).changes
    assert provider.diff("w", outs, {"name": "w", "password": "pw-2"}).changes
    same = provider.update("w", outs, {"name": "w", "password": "pw-1", "size": 4}).outs or {}
    assert same["password_hash"] == outs["password_hash"]
    changed = provider.update("w", outs, {"name": "w", "password": "pw-2"}).outs or {}
    assert secret_matches("pw-2", changed["password_hash"])
    assert provider.store["w"]["Pw"] == "pw-2"


# ---- create / adopt
# ------------------------------------------------------------------------------------------
def test_create_adopts_an_existing_artifact_and_updates_it_to_the_inputs() -> None:
    provider = WidgetProvider()
    provider.store["w"] = {"Name": "w", "Size": 9}
    _, outs = created(provider, name="w", size=2)
    assert outs["adopted"] is True and provider.store["w"]["Size"] == 2
    assert "create" not in provider.calls


def test_adopting_an_artifact_that_already_matches_writes_nothing() -> None:
    provider = WidgetProvider()
    provider.store["w"] = {"Name": "w", "Size": 2, "Owner": None}
    created(provider, name="w", size=2)
    assert provider.calls == ["find"]


@pytest.mark.parametrize(("uncertain", "adopted"), [(False, True), (True, False)])
def test_duplicate_on_create_converges(uncertain: bool, adopted: bool) -> None:
    provider = WidgetProvider()
    provider.fail_create_with = SalesforceError(
        "DUPLICATE_VALUE", "duplicate", artifact="Widget w", uncertain_write=uncertain
    )
    provider.visible_before_create = False
    artifact_id, outs = created(provider, name="w", size=2)
    assert artifact_id == "w" and outs["adopted"] is adopted and len(provider.store) == 1


def test_non_duplicate_create_errors_propagate() -> None:
    provider = WidgetProvider()
    provider.fail_create_with = SalesforceError("FIELD_INTEGRITY_EXCEPTION", "bad", artifact="Widget w")
    with pytest.raises(SalesforceError, match="FIELD_INTEGRITY_EXCEPTION"):
        created(provider, name="w")


# ---- read / update / delete
# ----------------------------------------------------------------------------------
def test_read_reports_live_values_as_outputs_and_inputs() -> None:
    provider = WidgetProvider()
    artifact_id, outs = created(provider, name="w", size=2, password="pw-1")
    provider.store["w"]["Size"] = 7
    result = provider.read(artifact_id, outs)
    read_outs, read_inputs = result.outs or {}, result.inputs or {}
    assert read_outs["size"] == 7 and read_inputs["size"] == 7
    assert kept_secret(read_inputs["password"]) == "pw-1" and read_outs["write_only_fields"] == ["password"]


def test_read_of_a_vanished_artifact_returns_no_id() -> None:
    provider = WidgetProvider()
    artifact_id, outs = created(provider, name="w")
    provider.store.clear()
    assert provider.read(artifact_id, outs).id == ""


def test_update_of_a_field_salesforce_does_not_hold_makes_no_call() -> None:
    provider = WidgetProvider()
    _, outs = created(provider, name="w")
    provider.calls.clear()
    result = provider.update("w", outs, {"name": "w", "delete_adopted": True})
    assert provider.calls == [] and (result.outs or {})["delete_adopted"] is True


def test_delete_leaves_adopted_artifacts_unless_asked() -> None:
    provider = WidgetProvider()
    provider.store["w"] = {"Name": "w", "Size": 1}
    _, outs = created(provider, name="w")
    provider.delete("w", outs)
    assert "w" in provider.store
    provider.delete("w", {**outs, "delete_adopted": True})
    assert "w" not in provider.store


def test_delete_of_an_artifact_already_gone_succeeds() -> None:
    provider = WidgetProvider()
    _, outs = created(provider, name="w")
    provider.store.clear()
    provider.delete("w", outs)


def test_pickled_provider_state_has_no_private_attributes(monkeypatch: pytest.MonkeyPatch) -> None:
    provider = WidgetProvider()
    provider._settings = object()  # type: ignore[assignment]
    assert "_settings" not in provider.__getstate__()


# ---- ownership across a crash (providers.kit.journal.CreateJournal)
# ------------------------------------------------
class Killed(BaseException):
    """Stands in for the provider process being killed: nothing after it runs."""


def dying_after_the_write(provider: WidgetProvider) -> None:
    original = provider.create_live

    def create_live(inputs: Mapping[str, Any], record: dict[str, Any]) -> str:
        original(inputs, record)
        raise Killed()

    provider.create_live = create_live  # type: ignore[method-assign]


def dying_after_the_proof(provider: WidgetProvider) -> None:
    """Killed after the create returned and its journal entry named the record Id, before the reply left."""
    original = provider.computed_outputs

    def computed_outputs(*args: Any, **kwargs: Any) -> dict[str, Any]:
        original(*args, **kwargs)
        raise Killed()

    provider.computed_outputs = computed_outputs  # type: ignore[method-assign]


def test_a_create_cut_short_before_its_record_id_was_known_claims_nothing() -> None:
    """Issue 21, M1: the entry of a create that never returned proves nothing (creator and time would fit
    another stack's artifact made by the same admin just as well): what is found is adopted (for an
    artifact whose settings the stack writes: refused, naming the opt-in)."""
    first = WidgetProvider()
    dying_after_the_write(first)
    with pytest.raises(Killed):
        created(first, name="w")
    assert "w" in first.store  # Salesforce applied it; the engine never heard back
    second = WidgetProvider()
    second.store = first.store
    assert created(second, name="w")[1]["adopted"] is True


def test_an_artifact_whose_create_was_cut_short_by_a_crash_is_claimed_as_own() -> None:
    first = WidgetProvider()
    dying_after_the_proof(first)
    with pytest.raises(Killed):
        created(first, name="w")
    assert "w" in first.store  # Salesforce applied it; the engine never heard back
    second = WidgetProvider()
    second.store = first.store
    _, outs = created(second, name="w")
    assert outs["adopted"] is False  # so destroy removes it
    # The claim holds for that very artifact (the second reply may be lost too) and for nothing else.
    third = WidgetProvider()
    third.store = first.store
    assert created(third, name="w")[1]["adopted"] is False
    remade_by_hand(first.store, "w")
    fourth = WidgetProvider()
    fourth.store = first.store
    assert created(fourth, name="w")[1]["adopted"] is True


def remade_by_hand(store: dict[str, dict[str, Any]], name: str) -> None:
    """The artifact deleted and made again, in Setup, by the user the stack connects as: a new record Id."""
    store[name] = {**store[name], "Id": "0Wd999999999999", "CreatedDate": datetime.now(UTC).isoformat()}


def test_a_create_whose_reply_was_lost_after_it_returned_is_still_claimed() -> None:
    """Found by tests/reliability/test_teardown.py: the provider was killed after create returned and
    before its reply reached the engine (which records a create only on the reply: pulumi/pulumi
    pkg/resource/deploy/step.go, CreateStep.Apply), and the entry was already gone, so the next `up` adopted
    what the stack had made and destroy left it."""
    first = WidgetProvider()
    created(first, name="w")  # returned; the engine never got the reply
    second = WidgetProvider()
    second.store = first.store
    id_, outs = created(second, name="w")
    assert outs["adopted"] is False
    second.delete(id_, outs)
    assert "w" not in second.store


def test_a_finished_create_claims_only_the_artifact_it_made(create_journal: Path) -> None:
    first = WidgetProvider()
    created(first, name="w")
    remade_by_hand(first.store, "w")
    second = WidgetProvider()
    second.store = first.store
    assert created(second, name="w")[1]["adopted"] is True
    assert list(create_journal.glob("*.json")) == []  # an entry that did not fit is used up


def test_a_certainly_failed_create_leaves_no_claim(create_journal: Path) -> None:
    provider = WidgetProvider()
    provider.fail_create_with = SalesforceError("FIELD_INTEGRITY_EXCEPTION", "bad", artifact="Widget v")
    with pytest.raises(SalesforceError):
        created(provider, name="v")
    assert list(create_journal.glob("*.json")) == []


def test_entries_past_their_age_are_swept(create_journal: Path) -> None:
    created(WidgetProvider(), name="w")
    (entry,) = create_journal.glob("*.json")
    old = time.time() - CreateJournal.MAX_AGE_SECONDS - 60
    os.utime(entry, (old, old))
    created(WidgetProvider(), name="v")
    assert entry not in set(create_journal.glob("*.json"))


def test_a_create_whose_outcome_is_unknown_keeps_its_claim(create_journal: Path) -> None:
    provider = WidgetProvider()
    provider.fail_create_with = SalesforceError(
        "CONNECTION_ERROR", "connection failed", artifact="Widget w", uncertain_write=True
    )
    with pytest.raises(SalesforceError):
        created(provider, name="w")
    assert len(list(create_journal.glob("*.json"))) == 1
    retry = WidgetProvider()
    retry.store = provider.store
    # Issue 21, M1: the lost answer never named the record Id, so the entry cannot prove what was found.
    assert created(retry, name="w")[1]["adopted"] is True


def test_an_unwritable_journal_does_not_stop_create(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    monkeypatch.setenv("ECI_CREATE_JOURNAL_DIR", str(blocker / "journal"))
    _, outs = created(WidgetProvider(), name="w")
    assert outs["adopted"] is False


def test_a_failure_after_the_write_keeps_the_artifact_marked_as_own() -> None:
    first = WidgetProvider()

    def failing_outputs(*args: Any, **kwargs: Any) -> dict[str, Any]:
        raise SalesforceError("HTTP_503", "lost while reading back", artifact="Widget w")

    first.computed_outputs = failing_outputs  # type: ignore[method-assign]
    with pytest.raises(SalesforceError):
        created(first, name="w")
    second = WidgetProvider()
    second.store = first.store
    assert created(second, name="w")[1]["adopted"] is False


def test_half_written_entries_of_a_killed_process_are_swept(create_journal: Path) -> None:
    create_journal.mkdir(parents=True)
    leftover = create_journal / "abc.4242.tmp"
    leftover.write_text("")
    os.utime(leftover, (time.time() - 3600, time.time() - 3600))
    created(WidgetProvider(), name="w")
    assert not leftover.exists()


# ---- the journal claims only what its create made (issue 14, point 3)
def test_an_artifact_made_by_hand_after_a_lost_create_is_adopted_not_claimed() -> None:
    """A create whose reply was lost leaves an entry; an admin then makes the artifact by hand (another user):
    the entry does not fit its creator, so the next `up` adopts it and destroy leaves it."""
    first = WidgetProvider()
    first.fail_create_with = SalesforceError(
        "CONNECTION_ERROR", "connection failed", artifact="Widget w", uncertain_write=True
    )
    first.store_on_create = False
    with pytest.raises(SalesforceError):
        created(first, name="w")
    first.store["w"] = {
        "Name": "w",
        "Size": 1,
        "CreatedDate": datetime.now(UTC).isoformat(),
        "CreatedById": "005000000000ADM",  # the admin, in Setup
    }
    second = WidgetProvider()
    second.store = first.store
    id_, outs = created(second, name="w")
    assert outs["adopted"] is True
    second.delete(id_, outs)
    assert "w" in second.store


def test_an_artifact_older_than_the_journal_entry_is_not_claimed() -> None:
    first = WidgetProvider()
    first.fail_create_with = SalesforceError(
        "CONNECTION_ERROR", "connection failed", artifact="Widget w", uncertain_write=True
    )
    first.store_on_create = False
    with pytest.raises(SalesforceError):
        created(first, name="w")
    # Made by the same user, but an hour before this stack began its create: not that create's result.
    an_hour_ago = datetime.fromtimestamp(time.time() - 3600, UTC).isoformat()
    first.store["w"] = {"Name": "w", "Size": 1, "CreatedDate": an_hour_ago, "CreatedById": first.user_id}
    second = WidgetProvider()
    second.store = first.store
    assert created(second, name="w")[1]["adopted"] is True


def test_a_journal_entry_of_another_stack_claims_nothing() -> None:
    first = WidgetProvider()
    first.stack = "eci-aircall/staging"
    dying_after_the_proof(first)
    with pytest.raises(Killed):
        created(first, name="w")
    other = WidgetProvider()
    other.stack = "eci-aircall/production"  # fresh state, same org, same artifact name
    other.store = first.store
    assert created(other, name="w")[1]["adopted"] is True
    same = WidgetProvider()
    same.stack = "eci-aircall/staging"
    same.store = first.store
    assert created(same, name="w")[1]["adopted"] is False


def test_the_journal_folder_and_entries_are_owner_only(create_journal: Path) -> None:
    create_journal.mkdir(mode=0o755)
    create_journal.chmod(0o755)  # an older, world-readable folder is tightened
    first = WidgetProvider()
    dying_after_the_write(first)
    with pytest.raises(Killed):
        created(first, name="w")
    assert create_journal.stat().st_mode & 0o777 == 0o700
    entries = list(create_journal.glob("*.json"))
    assert entries and all(e.stat().st_mode & 0o777 == 0o600 for e in entries)


class CreateFirstWidgetProvider(WidgetProvider):
    """Creates first and meets DUPLICATE_VALUE when the name exists (as permission set assignments do)."""

    find_before_create = False

    def create_live(self, inputs: Mapping[str, Any], record: dict[str, Any]) -> str:
        if str(inputs["name"]) in self.store:
            raise SalesforceError("DUPLICATE_VALUE", "duplicate value found", artifact="Widget")
        return super().create_live(inputs, record)


def test_a_create_first_artifact_cut_short_by_a_crash_is_claimed_on_the_duplicate() -> None:
    """The earlier run's journal entry still decides the DUPLICATE the next create meets."""
    first = CreateFirstWidgetProvider()
    dying_after_the_proof(first)
    with pytest.raises(Killed):
        created(first, name="w")
    second = CreateFirstWidgetProvider()
    second.store = first.store
    assert created(second, name="w")[1]["adopted"] is False
    remade_by_hand(first.store, "w")
    third = CreateFirstWidgetProvider()
    third.store = first.store
    assert created(third, name="w")[1]["adopted"] is True  # the claim named the artifact made, not this one
