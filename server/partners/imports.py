"""Partners from a CSV file, with row-level errors (the YAML import's CSV twin).

Columns (header names, any order): ``id, type, region, parent, status, customer_ref,
promo, qr, referral`` and optional ``name, email, phone, inn, kpp, ogrn``. Codes of one
kind are separated by ``|`` or spaces. A row that fails validation is reported with its
line number, column and reason and left out; rows that depend on it (as children) are
left out too; the others go in, in one transaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from server.extensions import db
from server.ledger.imports import decode, read_rows
from server.partners.commands import PartnerImportReport, import_partners
from server.partners.queries import partner_directory
from server.rules.partners import PartnersError, parse_partners

CODE_COLUMNS = ("promo", "qr", "referral")
FIELDS = ("id", "type", "region", "parent", "status", "customer_ref", *CODE_COLUMNS)
_WHERE = re.compile(r"partner '(?P<id>[^']*)'(?:\.(?P<field>\w+))?")


@dataclass(frozen=True)
class PartnerRowError:
    line: int
    column: str
    reason: str


@dataclass
class PartnerCsvReport:
    rows: int = 0
    imported: PartnerImportReport | None = None
    errors: list[PartnerRowError] = field(default_factory=list)

    def summary(self) -> str:
        done = self.imported.summary() if self.imported else "nothing imported"
        return f"{self.rows} rows: {done}; {len(self.errors)} rows rejected"


def _row_document(cells: dict[str, str]) -> dict[str, Any]:
    codes = {
        kind: [code for code in re.split(r"[|\s]+", cells.get(kind, "").strip()) if code]
        for kind in CODE_COLUMNS
    }
    return {
        "id": cells.get("id", "").strip() or None,
        "type": cells.get("type", "").strip() or None,
        "region": cells.get("region", "").strip() or None,
        "parent": cells.get("parent", "").strip() or None,
        "status": cells.get("status", "").strip() or "active",
        "customer_ref": cells.get("customer_ref", "").strip() or None,
        "codes": {kind: values for kind, values in codes.items() if values},
    }


def import_partners_csv(data: bytes) -> PartnerCsvReport:
    """Validate every row, report the bad ones, import the rest (one transaction)."""
    header, rows = read_rows(decode(data))
    names = [name.strip().lower() for name in header]
    report = PartnerCsvReport()
    lines: dict[str, int] = {}
    documents: list[dict[str, Any]] = []
    for line, cells in rows:
        report.rows += 1
        by_name = {names[i]: cells[i] for i in range(min(len(names), len(cells)))}
        document = _row_document(by_name)
        if document["id"] is None:
            report.errors.append(PartnerRowError(line, "id", "missing id"))
            continue
        if document["id"] in lines:
            report.errors.append(
                PartnerRowError(line, "id", f"duplicate id (line {lines[document['id']]})")
            )
            continue
        lines[document["id"]] = line
        documents.append(document)
    existing = {p.id: p for p in partner_directory()}
    while documents:
        # Parents already in the database are known even if this file does not repeat them.
        known = [
            {
                "id": p.id,
                "type": p.type.value,
                "region": p.region,
                "parent": p.parent,
                "status": p.status.value,
            }
            for p in existing.values()
            if p.id not in lines
        ]
        try:
            directory = parse_partners({"partners": known + documents})
            break
        except PartnersError as error:
            bad: set[str] = set()
            for issue in error.issues:
                match = _WHERE.match(issue.where)
                if match is None or match["id"] not in lines:
                    continue
                bad.add(match["id"])
                report.errors.append(
                    PartnerRowError(lines[match["id"]], match["field"] or "id", issue.message)
                )
            if not bad:  # an issue we cannot pin on a row: refuse the file as a whole
                raise
            documents = [d for d in documents if d["id"] not in bad]
    else:
        db.session.rollback()
        return report
    ours = [p for p in directory if p.id in lines and any(d["id"] == p.id for d in documents)]
    from server.rules.partners import PartnerDirectory

    report.imported = import_partners(PartnerDirectory(ours))
    report.errors.sort(key=lambda e: e.line)
    return report
