"""Every key of the state table (``STATE_TABLE``): one ``pk`` / ``sk`` layout, built only here.

``expiresAt`` is the table's TTL attribute (epoch seconds); DynamoDB deletes lazily, so every
read that cares also checks it. ``<userId>`` is always lower case.

=========================== ============================ =========================================
pk                          sk                           what (attributes: see the owning module)
=========================== ============================ =========================================
``run#<workflow>``          ``<run key>``                one run per scheduled time (``state``)
``lock#<workflow>``         ``lock``                     one run of a workflow at a time
``lock#ip_allowlist_sync``  ``lock``                     one portal IP sync at a time (a run or a
                                                         registration)
``cursor#<workflow>``       ``<scope>`` (``default``)    the audit-trail position read up to
``sent#<workflow>``         ``<fingerprint>``            a published finding (suppression)
``sent#<workflow>``         ``rule#<ruleId>#<fp>``       a finding a suppression rule kept back
                                                         (findings/suppression.py)
``suppress``                ``<ruleId>``                 a suppression rule (findings/suppression.py)
``reminder#<userId>``       ``<roomId>``                 an inactive member's last reminder
``report#<roomId>``         ``<YYYY-MM-DD>#<address>``   a room report mailed to one address
``activity#<userId>``       ``<roomId>#<YYYY-MM-DD>``    distinct events per hour (VDR baseline)
``allow``                   ``<userId>``                 a user's IP allowlist (workflows/ip_allowlist/store.py)
``restriction``             ``<userId>``                 a temporary restriction (state/restrictions.py)
``ipsync``                  ``added``                    what the portal sync added (workflows/ip_allowlist/sync_records.py)
``schema``                  ``allowlist-v2``             allowlists are in the layout above
``logout#<userId>``         ``<loginId>``                a log-out done on that offending login
                                                         (enforcement/gate.py)
``rtseen#event``            ``<event.id>``               a webhook delivery being/been processed
                                                         (workflows/realtime_guard/dedup.py)
``rtseen#content``          ``<content key>``            the same across manual retries (new id)
``rtwin#<userId>``          ``<kind>#<minute>``          one user's changes or downloads in one
                                                         minute (workflows/realtime_guard/window.py)
``rtburst#<userId>``        ``<kind>``                   one real-time finding per burst
``rtcap``                   ``<window start>``           real-time restrictions in one window
``ownact``                  ``<time>#<kind>#<target>#…`` one of our own portal writes, noted
                                                         before it is made (state/journal.py)
``cfgsnap``                 ``latest``                   the portal settings snapshot and the
                                                         changes awaiting their audit event
                                                         (workflows/config_watch/state.py)
``closed``                  ``<finding id>``             a finding closed with ``findings close``:
                                                         its follow-ups are not published
                                                         (findings/closures.py)
=========================== ============================ =========================================

Until version 2 an allowlist lived at ``allow#<userId>`` / ``entries`` (one partition per
user, so listing them took a Scan of the whole table); ``LEGACY_ALLOW_PREFIX`` and
``LEGACY_ALLOW_SK`` name that layout for the one-off migration (``allowlist migrate-keys``).

``owner`` (on locks, claims, restrictions and log-outs) is *who holds the record*: the run key
of the run that took it (schedule ARN + scheduled time, the same value a run carries as
``run_key``), or ``register@<request id>`` for an allowlist registration. Code that holds a
record passes its run key as ``owner``; the two names are one value seen from two sides.

The partition keys are also what template.yaml's policies grant (``dynamodb:LeadingKeys``).
"""

from __future__ import annotations

from typing import NamedTuple


class Key(NamedTuple):
    pk: str
    sk: str

    def item(self) -> dict[str, str]:
        """The key attributes, to merge into an item."""
        return {"pk": self.pk, "sk": self.sk}


def run(workflow: str, run_key: str) -> Key:
    return Key(f"run#{workflow}", run_key)


def lock(workflow: str) -> Key:
    return Key(f"lock#{workflow}", "lock")


#: The lock name of the portal IP sync (its pk is ``lock#ip_allowlist_sync``).
IP_SYNC_LOCK = "ip_allowlist_sync"


def cursor(workflow: str, scope: str = "default") -> Key:
    return Key(f"cursor#{workflow}", scope)


def sent(workflow: str, fingerprint: str) -> Key:
    return Key(f"sent#{workflow}", fingerprint)


#: Suppression rules (findings/suppression.py): one partition, read whole once per run.
SUPPRESS = "suppress"
#: The sort-key prefix of the findings a rule kept back, in the workflow's ``sent#`` partition
#: (a fingerprint is hex, so the two never meet).
SUPPRESS_HIT_PREFIX = "rule#"


def suppress_rule(rule_id: str) -> Key:
    return Key(SUPPRESS, rule_id)


def suppress_hit(workflow: str, rule_id: str, fingerprint: str) -> Key:
    return Key(f"sent#{workflow}", f"{SUPPRESS_HIT_PREFIX}{rule_id}#{fingerprint}")


def suppress_hit_range(workflow: str) -> tuple[str, str]:
    """The sort keys (first, last) of every hit in ``workflow``'s ``sent#`` partition."""
    return SUPPRESS_HIT_PREFIX, SUPPRESS_HIT_PREFIX + "\uffff"


def reminder(user_id: str, room_id: int | str) -> Key:
    return Key(f"reminder#{user_id}", str(room_id))


def report_mail(room_id: int | str, day: str, address: str) -> Key:
    return Key(f"report#{room_id}", f"{day}#{address}")


def activity_partition(user_id: str) -> str:
    return f"activity#{user_id}"


def activity(user_id: str, room_id: int, day: str) -> Key:
    return Key(activity_partition(user_id), f"{room_id}#{day}")


def activity_day(sk: str) -> tuple[int, str] | None:
    """``(room id, day)`` of an activity sort key, ``None`` when it is not one."""
    room, _, day = sk.partition("#")
    return (int(room), day) if room.isascii() and room.isdigit() else None


ALLOW = "allow"


def allowlist(user_id: str) -> Key:
    return Key(ALLOW, user_id.lower())


LEGACY_ALLOW_PREFIX = "allow#"
LEGACY_ALLOW_SK = "entries"


def legacy_allowlist(user_id: str) -> Key:
    return Key(LEGACY_ALLOW_PREFIX + user_id.lower(), LEGACY_ALLOW_SK)


#: Written once no allowlist is left in the legacy layout (see workflows/ip_allowlist/migration.py).
ALLOWLIST_SCHEMA = Key("schema", "allowlist-v2")

RESTRICTION = "restriction"


def restriction(user_id: str) -> Key:
    return Key(RESTRICTION, user_id.lower())


IP_SYNC_ADDED = Key("ipsync", "added")


def logout(user_id: str, evidence_id: str) -> Key:
    return Key(f"logout#{user_id}", evidence_id)


#: Webhook deliveries the real-time guard claimed, by ``event.id`` and by content key.
REALTIME_EVENT = "rtseen#event"
REALTIME_CONTENT = "rtseen#content"
REALTIME_CAP = "rtcap"


def realtime_event(event_id: int | str) -> Key:
    return Key(REALTIME_EVENT, str(event_id))


def realtime_content(content_key: str) -> Key:
    return Key(REALTIME_CONTENT, content_key)


def realtime_window_partition(user_id: str) -> str:
    return f"rtwin#{user_id}"


def realtime_window(user_id: str, kind: str, minute: str) -> Key:
    """One user's entries of one ``kind`` (``change``/``download``) in one minute."""
    return Key(realtime_window_partition(user_id), f"{kind}#{minute}")


def realtime_burst(user_id: str, kind: str) -> Key:
    return Key(f"rtburst#{user_id}", kind)


def realtime_cap(window_start: str) -> Key:
    return Key(REALTIME_CAP, window_start)


#: Our own portal writes (state/journal.py), one partition ordered by time.
OWN_ACTION = "ownact"


def own_action(at: str, kind: str, target: str, nonce: str) -> Key:
    """``nonce`` keeps two writes noted in the same microsecond apart."""
    return Key(OWN_ACTION, f"{at}#{kind}#{target}#{nonce}")


#: The configuration watch's last settings snapshot (workflows/config_watch/state.py).
CONFIG_SNAPSHOT = Key("cfgsnap", "latest")


#: Findings closed by an operator (findings/closures.py), by finding id (fingerprint).
CLOSED = "closed"


def closed(finding_id: str) -> Key:
    return Key(CLOSED, finding_id)
