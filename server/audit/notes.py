"""Notes and audit comments the system writes, as one vocabulary.

They are stored in English, as the audit's action keys are, so a search finds them
whatever the reader's language; :func:`server.labels.system_note` shows them in the
reader's. Both sides read :data:`NOTES`, so the stored wording and its reading cannot
drift apart.
"""

from __future__ import annotations

import re
import string

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

#: kind → (the stored English, a ``str.format`` pattern; the same in the reader's language)
NOTES: dict[str, tuple[str, LazyString]] = {
    "campaign": ("campaign {slug}", _l("campaign %(slug)s")),
    "campaign_rule": (
        "rule {rule} added for campaign {slug}",
        _l("rule %(rule)s added for campaign %(slug)s"),
    ),
    "demo": ("Demo program", _l("Demo program")),
    "rollback": ("rollback to v{number}", _l("rollback to v%(number)s")),
    "superseded": ("superseded by v{number}", _l("superseded by v%(number)s")),
    "followed": ("followed by v{number}", _l("followed by v%(number)s")),
    "workflow": ("workflow instance {number}", _l("workflow instance %(number)s")),
    "program_copy": ("copy of {slug} v{number}", _l("copy of %(slug)s v%(number)s")),
    "enrolled": (
        "partner {partner} enrolled by workflow instance {number}",
        _l("partner %(partner)s enrolled by workflow instance %(number)s"),
    ),
}


def note(kind: str, **values: object) -> str:
    """The stored text of a note of ``kind`` (a key of :data:`NOTES`)."""
    return NOTES[kind][0].format(**values)


def draft_comment(source: int, draft: int, note_text: str | None) -> str:
    """A new draft's audit comment: ``v1 → v2`` and the draft's note, if any."""
    return f"v{source} → v{draft}" + (f": {note_text}" if note_text else "")


def _pattern(stored: str) -> re.Pattern[str]:
    parts = [
        re.escape(literal) + (f"(?P<{name}>\\S+)" if name else "")
        for literal, name, _spec, _conversion in string.Formatter().parse(stored)
    ]
    return re.compile("".join(parts))


#: each stored wording as a pattern, with its phrase in the reader's language
READERS = tuple((_pattern(stored), phrase) for stored, phrase in NOTES.values())
#: :func:`draft_comment`'s shape
DRAFT_COMMENT = re.compile(r"(?P<versions>v\d+ → v\d+): (?P<note>.+)", re.S)
