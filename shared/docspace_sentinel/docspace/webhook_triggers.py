"""DocSpace's webhook triggers (``WebhookTrigger.cs``, v3.7.2): wire names and bit values.

One table for the receiver (which triggers exist), the consumer (which it counts) and the
``webhooks install`` command (which it subscribes to).
"""

from __future__ import annotations

#: DocSpace's triggers (``WebhookTrigger.cs``, v3.7.2) by wire name. ``triggerId`` stays an
#: open 64-bit integer: the SPEC already misses values >= 2**31.
TRIGGERS: dict[str, int] = {
    "user.created": 1,
    "user.invited": 2,
    "user.updated": 4,
    "user.deleted": 8,
    "group.created": 16,
    "group.updated": 32,
    "group.deleted": 64,
    "file.created": 128,
    "file.uploaded": 256,
    "file.updated": 512,
    "file.trashed": 1024,
    "file.deleted": 2048,
    "file.restored": 4096,
    "file.copied": 8192,
    "file.moved": 16384,
    "folder.created": 32768,
    "folder.updated": 65536,
    "folder.trashed": 131072,
    "folder.deleted": 262144,
    "folder.restored": 524288,
    "folder.copied": 1048576,
    "folder.moved": 2097152,
    "room.created": 4194304,
    "room.updated": 8388608,
    "room.archived": 16777216,
    "room.deleted": 33554432,
    "room.restored": 67108864,
    "room.copied": 134217728,
    "form.submit": 268435456,
    "form.filled.out": 536870912,
    "form.stopped": 1073741824,
    "agent.created": 2147483648,
    "agent.updated": 4294967296,
    "agent.deleted": 8589934592,
    "file.downloaded": 1 << 34,
    "folder.downloaded": 1 << 35,
}

#: The file triggers and the two download triggers the real-time guard counts.
FILE_TRIGGERS: dict[str, int] = {
    name: TRIGGERS[name]
    for name in (
        "file.created",
        "file.uploaded",
        "file.updated",
        "file.trashed",
        "file.deleted",
        "file.restored",
        "file.copied",
        "file.moved",
        "file.downloaded",
        "folder.downloaded",
    )
}

#: What ``webhooks install`` subscribes to: the file triggers and the two download triggers.
#: ``folder.trashed/deleted/moved`` are left out: the bulk guards count distinct *files*, as
#: the polling guard does from the audit trail, and a folder event names one folder, not how
#: many files it held.
SENTINEL_TRIGGERS = 0
for _bit in FILE_TRIGGERS.values():
    SENTINEL_TRIGGERS |= _bit
