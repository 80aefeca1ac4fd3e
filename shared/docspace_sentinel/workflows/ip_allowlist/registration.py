"""Registrations: an external system (or the CLI's ``allowlist`` commands) sets, extends or
shrinks a user's allowlist, and the portal sync runs.

A record is ``{"userId", "email", "allowedIps", "operation", "updatedBy"}``, sent directly or as
an EventBridge event's ``detail``. Its entries are validated whole (one bad entry rejects the
record, and the error names every bad one), the user is resolved on the portal (by id, or by an
email naming exactly one user), and the list is stored normalised with a conditional write
(re-read on a race). The list after the change must still restrict something and fit the
portal's list (``expansion_problems``). ``registration_handler`` is the Lambda handler.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple

from ...docspace.client import DocSpaceClient, guid
from ...docspace.dates import utcnow
from ...docspace.errors import NotFound
from ...findings.finding import Finding
from ...state.store import StateStore
from .entries import (
    OPERATIONS,
    AllowEntry,
    apply_operation,
    breadth_problems,
    parse_entries,
    parse_entry,
)
from .errors import AllowlistConflict, InvalidAllowlist
from .findings import WORKFLOW
from .settings import SyncSettings
from .store import AllowlistStore
from .sync import SyncResult, sync_locked
from .sync_plan import MAX_ALLOWLIST_EXPANDED, expanded_size


class Registration(NamedTuple):
    user_id: str | None
    email: str | None
    operation: str
    entries: tuple[AllowEntry, ...]
    updated_by: str


def parse_registration(event: Any, *, default_by: str = "invoke") -> Registration:
    """A record sent directly or as an EventBridge event's ``detail``. Every problem is
    collected, so the error names them all at once."""
    by = default_by
    if isinstance(event, Mapping) and "detail" in event and "detail-type" in event:
        by = f"eventbridge:{event.get('source') or '?'}"
        event = event["detail"]
    if not isinstance(event, Mapping):
        raise InvalidAllowlist(["the record must be a JSON object"], subject="registration")
    problems: list[str] = []
    user_id = event.get("userId")
    if user_id is not None:
        try:
            user_id = guid(user_id)
        except ValueError as exc:
            problems.append(str(exc))
    email = event.get("email")
    if email is not None and (not isinstance(email, str) or "@" not in email):
        problems.append(f"email must be an email address, got {email!r}")
        email = None
    if user_id is None and not email and not any("userId" in p for p in problems):
        problems.append("userId or email is required")
    operation = event.get("operation", "replace")
    if operation not in OPERATIONS:
        problems.append(f"operation must be one of {', '.join(OPERATIONS)}, got {operation!r}")
    entries: tuple[AllowEntry, ...] = ()
    raw = event.get("allowedIps")
    try:
        # Entries to remove may be as wide as they like: removing one narrows the list.
        entries = parse_entries(raw, bounded=operation != "remove")
    except InvalidAllowlist as exc:
        problems.extend(exc.problems)
    else:
        if not entries:
            problems.append(
                "allowedIps is empty (to stop checking a user, remove their entries)"
                if operation != "remove"
                else "allowedIps names nothing to remove"
            )
    if problems:
        raise InvalidAllowlist(problems, subject="registration")
    updated_by = event.get("updatedBy")
    if isinstance(updated_by, str) and updated_by.strip():
        by = f"{by}:{updated_by.strip()[:100]}"
    return Registration(
        user_id=user_id,
        email=email.strip().lower() if isinstance(email, str) else None,
        operation=str(operation),
        entries=entries,
        updated_by=by,
    )


def resolve_user(client: DocSpaceClient, registration: Registration) -> tuple[str, str | None]:
    """The portal user the record is about: by id (checked), or by an email that names exactly
    one user."""
    if registration.user_id is not None:
        try:
            user = client.user(registration.user_id)
        except NotFound:
            raise InvalidAllowlist(
                [f"userId {registration.user_id} is not a user of this portal"],
                subject="registration",
            ) from None
        email = (user.email or "").lower() or None
        if registration.email and email and registration.email != email:
            raise InvalidAllowlist(
                [f"email {registration.email} does not belong to user {user.id} ({email})"],
                subject="registration",
            )
        return user.id.lower(), email or registration.email
    assert registration.email is not None
    users = client.users_by_email(registration.email)
    if len(users) != 1:
        found = "no portal user" if not users else f"{len(users)} portal users"
        raise InvalidAllowlist(
            [f"email {registration.email} matches {found}; send the userId"],
            subject="registration",
        )
    return users[0].id.lower(), registration.email


class Change(NamedTuple):
    user_id: str
    email: str | None
    operation: str
    before: tuple[str, ...]
    after: tuple[str, ...]
    updated_by: str

    @property
    def changed(self) -> bool:
        return self.before != self.after

    def to_dict(self, max_expanded: int) -> dict[str, Any]:
        large = [e for e in self.after if parse_entry(e).size > max_expanded]
        return {
            "userId": self.user_id,
            "email": self.email,
            "operation": self.operation,
            "entries": list(self.after),
            "added": [e for e in self.after if e not in self.before],
            "removed": [e for e in self.before if e not in self.after],
            "changed": self.changed,
            "updatedBy": self.updated_by,
            # Matched at login, but too large to put on the portal as single addresses.
            "monitoredOnly": large,
        }


def expansion_problems(entries: Iterable[str], max_expanded: int) -> list[str]:
    """Why a list would put too many addresses on the portal's list, if it would."""
    size = expanded_size(entries, max_expanded)
    if size <= MAX_ALLOWLIST_EXPANDED:
        return []
    return [
        f"the entries of at most {max_expanded} addresses (MAX_EXPANDED_RANGE) add up to "
        f"{size:,} addresses, and one allowlist may put at most {MAX_ALLOWLIST_EXPANDED:,} on "
        "the portal's list (it holds single addresses); list fewer networks, or larger ones "
        "(those are checked at login only)"
    ]


def store_registration(
    store: StateStore,
    user_id: str,
    email: str | None,
    registration: Registration,
    *,
    max_expanded: int = SyncSettings().max_expanded,
) -> Change:
    """Apply the operation to the stored list (conditional writes, re-read on a race)."""
    records = AllowlistStore(store)
    for _attempt in range(3):
        current = records.get(user_id)
        before = current.entries if current else ()
        after = apply_operation(before, registration.operation, registration.entries)
        change = Change(
            user_id, email, registration.operation, before, after, registration.updated_by
        )
        if not change.changed:
            return change
        wide = (
            breadth_problems(after) or expansion_problems(after, max_expanded)
            if registration.operation != "remove"
            else []
        )
        if wide:
            # The record's own entries passed; together with the stored ones they do not.
            raise InvalidAllowlist(wide, subject=f"registration for {user_id}")
        try:
            if after:
                records.save(
                    user_id,
                    after,
                    email=email or (current.email if current else None),
                    updated_by=registration.updated_by,
                    expected_version=current.version if current else 0,
                )
            elif current is not None:
                records.delete(user_id, expected_version=current.version)
        except AllowlistConflict:
            continue
        return change
    raise AllowlistConflict(f"the allowlist of {user_id} kept changing; try again")


Publish = Callable[[list[Finding]], Any]


def register(
    event: Any,
    *,
    client: DocSpaceClient,
    store: StateStore,
    sync_settings: SyncSettings,
    owner: str,
    publish: Publish | None = None,
    default_by: str = "invoke",
) -> dict[str, Any]:
    """Validate, store, and sync one registration; the answer for the caller.

    Registration needs only the sync settings: a bad ``ON_VIOLATION`` or response setting
    must not block onboarding (the scheduled check reports it).
    """
    registration = parse_registration(event, default_by=default_by)
    user_id, email = resolve_user(client, registration)
    change = store_registration(
        store, user_id, email, registration, max_expanded=sync_settings.max_expanded
    )
    answer = change.to_dict(sync_settings.max_expanded)
    sync = SyncResult("unchanged")
    if change.changed:
        sync = sync_locked(client, store, sync_settings, owner)
        if sync.findings and publish is not None:
            publish(sync.findings)
    answer["portalSync"] = {"mode": sync_settings.mode, **sync.to_dict()}
    return answer


def registration_handler() -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """The Lambda handler for registrations, with the same logging and metrics as runs."""
    from aws_lambda_powertools.metrics import MetricUnit

    from ...docspace.settings import ClientSettings
    from ...runtime import handler as shared
    from ...runtime.runner import Runner, RunSettings

    @shared.logger.inject_lambda_context(clear_state=True)
    @shared.metrics.log_metrics()
    def register_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        shared.logger.append_keys(workflow=WORKFLOW)
        shared.set_workflow_dimension(WORKFLOW)
        # Registration needs only the sync settings of its own (see ``register``); all are
        # checked before the first AWS call, the API key's read last.
        entry = shared.read_settings(SyncSettings, WORKFLOW)
        run_settings, sync_settings = entry.run, entry.workflow
        store = shared.state_store(run_settings.state_table)
        owner = f"register@{getattr(context, 'aws_request_id', None) or utcnow().isoformat()}"
        remaining = shared.remaining_time_of(context)
        with DocSpaceClient(entry.client(), remaining_time=remaining) as client:
            runner = Runner(
                WORKFLOW,
                run_settings,
                client=client,
                store=store,
                publisher=shared.publisher_of(run_settings, context),
            )
            try:
                answer = register(
                    event,
                    client=client,
                    store=store,
                    sync_settings=sync_settings,
                    owner=owner,
                    publish=lambda findings: runner.publish(findings, owner),
                )
            except InvalidAllowlist as exc:
                shared.metrics.add_metric(
                    name="RegistrationsRejected", unit=MetricUnit.Count, value=1
                )
                shared.logger.warning("registration rejected", extra={"problems": exc.problems})
                raise
        shared.metrics.add_metric(name="RegistrationsStored", unit=MetricUnit.Count, value=1)
        shared.logger.info("registration stored", extra={"registration": answer})
        return answer

    # The settings classes it reads (tests derive the environment it needs from them).
    register_handler.settings_classes = (
        RunSettings,
        ClientSettings,
        SyncSettings,
    )
    register_handler.config_section = WORKFLOW
    return register_handler  # type: ignore[no-any-return]  # Powertools' decorators are untyped
