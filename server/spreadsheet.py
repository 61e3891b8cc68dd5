"""CSV for spreadsheet programs: a UTF-8 BOM, and text that is never read as a formula.

Every CSV the product hands out (ledger, payouts, dashboards, backtests, the partner's accruals,
import error reports) passes outside text through :func:`cell`: ids, names and values
from partners' files and integrations could otherwise run as formulas (CSV injection).
"""

from __future__ import annotations

UTF8_BOM = "\ufeff"
#: a cell starting with one of these is a formula (or becomes one) in Excel and LibreOffice
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def cell(value: object) -> str:
    """A value as a spreadsheet shows it: text, prefixed with ``'`` where it would start
    a formula; ``None`` as an empty cell."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text
