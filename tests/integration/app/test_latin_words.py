"""Every HTML page, as every role, in Russian: no English words outside the allow-list.

The crawl walks the URL map like the hostile-query crawl (tests/support/crawl.py): each
GET route once per role, with a real id of the row it shows. A page's visible text is
what is left after removing scripts, styles, comments and tags (with their attribute
values); in it, every word that holds a Latin letter must be one of:

- a value from the demo data that is an identifier, not a word: partner, promo and
  referral codes, event and order ids, customer ids, e-mails, logins, slugs, keys of
  rules, workflows and templates, contract numbers, hashes (:func:`_data_words`);
- a URL, an e-mail address, a file name or a dotted/underscored machine name (a rule
  key such as ``base_commission``; see :data:`MACHINE`);
- one of :data:`ALLOWED`: units, formats and brand names a Russian screen writes in
  Latin letters (each with its reason).

Text inside ``<code>``, ``<pre>``, ``<kbd>`` and ``<textarea>`` is machine text (a
payload, a template's source, a variable's name) and is not read; nor are the
``FAB_ROLES`` patterns FAB's role list prints (:data:`_PATTERNS`). One database is
enough for what this checks (the words of our templates and labels), but the ``app``
fixtures run it on both; it takes about 40 s per database.
"""

from __future__ import annotations

import html
import re
from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from flask import Flask
from werkzeug.routing import Rule

from server.extensions import db
from tests.support.crawl import DEMO_LOGINS, fill, real_pk, real_values
from tests.support.web import log_in

#: Latin words a Russian screen may show, each with its reason
ALLOWED = {
    # file formats and protocols named by their abbreviation in Russian texts too
    "PDF", "CSV", "JSON", "YAML", "HTML", "CSS", "API", "URL", "HTTP", "HTTPS", "QR",
    "SHA-256", "SHA256", "UTC", "ISO", "XLSX", "ZIP", "HMAC", "ID",
    # currency codes (ISO 4217) and the money units of the rules
    "RUB", "USD", "EUR",
    # Russian tax ids written in Latin in English-facing data (ИНН is the Russian form)
    "INN",
    # marketing and service terms Russian texts write in Latin letters
    "CPA", "CPL", "CPM", "CPS", "ROI", "SLA", "KPI",
    # image formats of the QR downloads
    "PNG", "SVG",
    # the events API's method and header, named as a client must write them
    "POST", "X-API-Key",
    # sign-in methods named on FAB's user form ("вход через LDAP")
    "LDAP", "OpenID",
    # product and brand names
    "Partnerflow", "Redis", "PostgreSQL", "SQLite", "Jinja", "Jinja2", "WeasyPrint",
    "Chromium", "Flask-AppBuilder", "Alembic", "Excel", "Telegram", "WhatsApp", "Google",
    # the language menu names English in its own language
    "English",
}  # fmt: skip

#: a token that is a machine name, not a word: URLs, e-mails, file names, snake_case or
#: dotted keys, hex hashes, ids with digits
MACHINE = re.compile(
    r"""^(
        \w+://\S+                              # a URL
      | [\w.+-]+@[\w-]+(\.[\w-]+)+             # an e-mail
      | /[\w./{}<>:-]*                         # a path
      | [\w-]+\.(pdf|csv|json|yaml|yml|html|txt|png|svg)   # a file name
      | [a-z0-9]+(_[a-z0-9]+)+                 # snake_case (a rule, a field)
      | [a-z0-9]+(\.[a-z0-9_]+)+               # dotted (event.amount)
      | [0-9a-f]{8,}                           # a hash or its prefix
      | [A-Za-z]*\d[\w-]*                      # has a digit: a code or an id
      | [A-Z0-9]+(-[A-Z0-9]+)+                 # an upper-case code (A-AMB-01)
    )$""",
    re.X,
)

#: removed before reading: scripts, styles, comments, machine text
_DROP = re.compile(r"<(script|style|code|pre|kbd|textarea)\b.*?</\1>|<!--.*?-->", re.S | re.I)
_TAG = re.compile(r"<[^>]*>")
#: a run of characters that may form one token; a Latin word is one holding [A-Za-z]
_TOKEN = re.compile(r"[A-Za-z0-9_@.:/+#%=?&{}\-]+")
_LATIN = re.compile(r"[A-Za-z]")

#: routes that are not pages: logging out ends the session, switching language
#: switches it, and files (CSV, PDF) are checked by their own tests
SKIP = {"AuthDBView.logout", "LocaleView.index"}

#: identifier columns of the demo data (model, column)
_ID_COLUMNS = (
    ("Partner", "code"), ("Partner", "email"), ("Partner", "name"),
    ("AttributionCode", "code"), ("Campaign", "slug"), ("Campaign", "title"),
    ("SalesEvent", "external_id"), ("SalesEvent", "order_id"), ("SalesEvent", "customer"),
    ("SalesEvent", "source"), ("SalesEvent", "refers_to"), ("SalesEvent", "category"),
    ("IntakeRejection", "external_id"), ("IntakeRejection", "source"),
    ("Accrual", "rule_key"), ("ContractTemplate", "key"), ("Contract", "number"),
    ("WorkflowDefinition", "key"), ("ApiKey", "name"), ("ApiKey", "prefix"),
    ("Program", "slug"), ("Program", "title"), ("RuleInstance", "rule_key"),
    ("Region", "code"), ("Region", "name_en"), ("Region", "timezone"),
)  # fmt: skip


def _data_words(app: Flask) -> set[str]:
    """Every Latin token of the demo data's identifier columns (and the users' logins)."""
    from server import models

    words: set[str] = set()
    with app.app_context():
        columns: list[Any] = []
        for model_name, column_name in _ID_COLUMNS:
            model = getattr(models, model_name, None)
            if model is not None and hasattr(model, column_name):
                columns.append(getattr(model, column_name))
        # FAB's security records: logins, role names, and the permission and view
        # names its role pages list (keys FAB matches on, like ``can_list``)
        security = app.extensions["appbuilder"].sm
        user = security.user_model
        columns += [user.username, user.email, user.first_name, user.last_name]
        columns += [security.role_model.name, security.permission_model.name]
        columns += [security.viewmenu_model.name]
        for column in columns:
            for value in db.session.scalars(sa.select(column).distinct()):
                words.update(_TOKEN.findall(str(value or "")))
    return words


#: FAB's role list prints each built-in role's permissions as the regular expressions
#: of ``FAB_ROLES`` (server/security/roles.py): ``[['^PortalView$', '.*'], ...]``
_PATTERNS = re.compile(r"\[\['.*?'\]\]")


def _visible_text(page: str) -> str:
    text = html.unescape(_TAG.sub(" ", _DROP.sub(" ", page)))
    return " ".join(_PATTERNS.sub(" ", text).split())


def _latin_tokens(text: str) -> list[tuple[str, str]]:
    """(token, the text around it) for every token of ``text`` holding a Latin letter."""
    found = []
    for match in _TOKEN.finditer(text):
        token = match.group(0).strip(".:-?&=#%").rstrip("/")
        if _LATIN.search(token):
            found.append((token, text[max(0, match.start() - 50) : match.end() + 30]))
    return found


def _allowed(token: str, allowed: set[str]) -> bool:
    """Allowed as a whole, or (a source/id pair, a path) each part allowed."""
    if token in allowed or MACHINE.match(token):
        return True
    parts = [part for part in token.split("/") if part]
    return len(parts) > 1 and all(part in allowed or MACHINE.match(part) for part in parts)


def _get_rules(app: Flask) -> list[Rule]:
    return sorted(
        (
            rule
            for rule in app.url_map.iter_rules()
            if "GET" in (rule.methods or set())
            and rule.endpoint not in SKIP
            and rule.endpoint not in ("static", "appbuilder.static")
            and not rule.endpoint.startswith(("api", "Api", "OpenApi", "SwaggerView"))
        ),
        key=lambda rule: rule.rule,
    )


def _english_words(app: Flask, allowed: set[str]) -> dict[str, set[str]]:
    """word → the pages (role and path) that show it."""
    values = {**real_values(app), "locale": "ru"}
    clients = {role: log_in(app, role, password) for role, password in DEMO_LOGINS.items()}
    clients["anonymous"] = app.test_client()
    found: dict[str, set[str]] = defaultdict(set)
    pages = 0
    for rule in _get_rules(app):
        path = fill(rule, values, real_pk(app, rule))
        for role, client in clients.items():
            response = client.get(path, headers={"Accept-Language": "ru"})
            page = response.get_data(as_text=True) if response.mimetype == "text/html" else ""
            response.close()  # a streamed file (CSV) ends its own context
            if response.status_code != 200 or not page:
                continue
            pages += 1
            for word, around in _latin_tokens(_visible_text(page)):
                if not _allowed(word, allowed):
                    found[word].add(f"{role} {path}: …{around}…")
    assert pages > 100, pages
    return found


def test_no_english_words_on_russian_pages(demo_app: Flask) -> None:
    allowed = ALLOWED | _data_words(demo_app)
    found = _english_words(demo_app, allowed)
    report = [f"{word!r} ({len(where)}×) {min(where)}" for word, where in found.items()]
    assert not found, "\n".join(sorted(report)) + f"\n({len(found)} words)"
