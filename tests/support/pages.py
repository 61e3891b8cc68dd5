"""What a rendered page would fetch from elsewhere: pages here load nothing from a CDN."""

from __future__ import annotations

import re

#: a URL a browser would fetch from another host: in src/href attributes or CSS url()
_FETCHED = re.compile(
    r"""(?:\b(?:src|href)\s*=\s*["']?|url\(\s*["']?)((?:https?:)?//[^"'\s)>]+)""",
    re.IGNORECASE,
)


def external_fetches(html: str) -> list[str]:
    """Absolute and protocol-relative URLs the page's scripts, styles, images and links
    point at. Not a substring test: a random nonce or token may spell "cdn"."""
    return _FETCHED.findall(html)
