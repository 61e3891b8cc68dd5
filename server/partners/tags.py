"""Partner tags: the segments a partner belongs to, typed on the partner form (pure)."""

from __future__ import annotations

#: the longest tag (a segment's name, e.g. ``pilot-msk``)
MAX_TAG_LENGTH = 64


def parse_tags(text: str | None) -> list[str] | None:
    """Tags typed into the partner form, comma-separated: trimmed, without repeats,
    sorted; ``None`` when there are none. Raises ``ValueError`` for a tag longer than
    :data:`MAX_TAG_LENGTH`."""
    tags = sorted({part.strip() for part in (text or "").split(",") if part.strip()})
    if any(len(tag) > MAX_TAG_LENGTH for tag in tags):
        raise ValueError(f"a tag has at most {MAX_TAG_LENGTH} characters")
    return tags or None
