"""Program codes (slugs): suggested from a title, checked before a program is created.

A new program's code is lowercase Latin letters and digits in words joined by single
hyphens (``stores-2026``): it names the program in files, exports and accrual lines,
so it stays readable in any language. :func:`suggest_slug` writes a Russian title in
Latin letters; ``server/static/workspace/new_program.js`` does the same as the manager
types (the two share :data:`TRANSLITERATION`'s table and a test checks they agree).
"""

from __future__ import annotations

import re

#: Russian letters in Latin ones (the common passport-style spelling; ъ and ь vanish)
TRANSLITERATION: dict[str, str] = {
    "а": "a",
    "б": "b",
    "в": "v",
    "г": "g",
    "д": "d",
    "е": "e",
    "ё": "e",
    "ж": "zh",
    "з": "z",
    "и": "i",
    "й": "y",
    "к": "k",
    "л": "l",
    "м": "m",
    "н": "n",
    "о": "o",
    "п": "p",
    "р": "r",
    "с": "s",
    "т": "t",
    "у": "u",
    "ф": "f",
    "х": "kh",
    "ц": "ts",
    "ч": "ch",
    "ш": "sh",
    "щ": "shch",
    "ъ": "",
    "ы": "y",
    "ь": "",
    "э": "e",
    "ю": "yu",
    "я": "ya",
}
#: the longest suggestion (the column holds 100; a code is typed and read, so shorter)
SUGGESTED_LENGTH = 60
#: the longest code accepted (``programs.slug``)
MAX_SLUG_LENGTH = 100
#: what a new program's code looks like
SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_OTHER = re.compile(r"[^a-z0-9]+")


def suggest_slug(title: str) -> str:
    """A code for ``title``: transliterated, lowercase, words joined by hyphens.

    Empty when the title has no letter or digit to keep. The suggestion always
    satisfies :func:`is_valid_slug` (or is empty).
    """
    latin = "".join(TRANSLITERATION.get(char, char) for char in title.lower())
    slug = _OTHER.sub("-", latin).strip("-")
    if len(slug) > SUGGESTED_LENGTH:
        slug = slug[:SUGGESTED_LENGTH].rstrip("-")
    return slug


def is_valid_slug(slug: str) -> bool:
    """Whether ``slug`` may name a new program (pattern and length)."""
    return len(slug) <= MAX_SLUG_LENGTH and SLUG_PATTERN.match(slug) is not None
