"""Render a template version with data: sandboxed HTML, then a PDF. Pure of the database.

The HTML a template produces is a body fragment; :func:`html_document` wraps it with the
template's CSS into the page WeasyPrint lays out (the same document the browser preview
shows, inside a sandboxed frame).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tinycss2
from markupsafe import escape

from server.documents.pdf import DEFAULT_PDF_VARIANT, PdfOptions, html_to_pdf
from server.documents.sandbox import render_source

#: the policy the browser preview runs under: no scripts, no network, inline styles only
PREVIEW_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:; "
    "base-uri 'none'; form-action 'none'"
)
#: at-rules whose rules the preview keeps, filtering the rules inside them
_GROUPING_AT_RULES = frozenset({"media", "supports"})


@dataclass(frozen=True)
class TemplateSource:
    """What a render needs from a template version."""

    body_html: str
    css: str
    language: str = "ru"
    title: str = ""


@dataclass(frozen=True)
class RenderedDocument:
    html: str
    pdf: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.pdf).hexdigest()


def html_document(body: str, language: str, title: str = "", preview: bool = False) -> str:
    """The full HTML page around a rendered body. The CSS is passed to WeasyPrint as a
    stylesheet; the preview inlines it (see :func:`preview_document`)."""
    policy = (
        f'<meta http-equiv="Content-Security-Policy" content="{PREVIEW_CSP}">' if preview else ""
    )
    return (
        f'<!DOCTYPE html><html lang="{escape(language)}"><head><meta charset="utf-8">{policy}'
        f"<title>{escape(title)}</title></head><body>{body}</body></html>"
    )


def preview_document(body: str, css: str, language: str) -> str:
    """The page the editor shows in a sandboxed iframe: the body with the CSS inlined
    (without the rules that load files, see :func:`preview_stylesheet`) and a policy
    that blocks scripts and every network load."""
    # a stylesheet cannot close its <style> element
    safe_css = preview_stylesheet(css).replace("</", "<\\/")
    page = html_document(body, language, preview=True)
    return page.replace("</head>", f"<style>{safe_css}</style></head>", 1)


def preview_stylesheet(css: str) -> str:
    """``css`` without the rules that would load a file in the browser: ``@import`` and
    ``@font-face`` with a source other than a ``data:`` URL, also inside ``@media`` and
    ``@supports``. Everything else is kept as written.

    The files are the PDF's (``url(fonts/DejaVuSerif.ttf)`` is relative to
    ``contract_templates/assets/``, read by WeasyPrint's fetcher). In the preview such a
    URL would resolve under the editor's route and the preview's policy blocks it, so
    the browser uses the next family of the ``font-family`` list instead.
    """
    return _without_file_loads(tinycss2.parse_stylesheet(css))


def _without_file_loads(rules: Iterable[Any]) -> str:
    kept = []
    for rule in rules:
        if rule.type == "error":  # an unfinished rule: the browser drops it too
            continue
        keyword = rule.lower_at_keyword if rule.type == "at-rule" else None
        if keyword == "import":
            continue
        if keyword == "font-face" and not all(_is_data_url(url) for url in _urls(rule.content)):
            continue
        if keyword in _GROUPING_AT_RULES and rule.content is not None:
            inner = _without_file_loads(tinycss2.parse_rule_list(rule.content))
            kept.append(f"@{rule.at_keyword}{tinycss2.serialize(rule.prelude)}{{{inner}}}")
        else:
            kept.append(rule.serialize())
    return "".join(kept)


def _is_data_url(url: str) -> bool:
    return url.strip().lower().startswith("data:")


def _urls(tokens: Iterable[Any] | None) -> Iterator[str]:
    """The URLs in CSS tokens: ``url(x)`` and ``url("x")``, in nested blocks too."""
    for token in tokens or ():
        if token.type == "url":
            yield token.value
        elif token.type == "function" and token.lower_name == "url":
            yield from (arg.value for arg in token.arguments if arg.type == "string")
        elif token.type == "function":
            yield from _urls(token.arguments)
        elif token.type in ("() block", "[] block", "{} block"):
            yield from _urls(token.content)


def render_html(template: TemplateSource, data: Mapping[str, Any]) -> str:
    """The final HTML of a document (see :func:`server.documents.sandbox.render_source`
    for what it raises)."""
    return html_document(render_source(template.body_html, data), template.language, template.title)


def render_document(
    template: TemplateSource,
    data: Mapping[str, Any],
    assets_dir: Path,
    pdf_variant: str | None = DEFAULT_PDF_VARIANT,
) -> RenderedDocument:
    """Render ``data`` with ``template`` to HTML and PDF.

    Raises:
        server.documents.sandbox.TemplateValidationError: the template does not compile.
        server.documents.sandbox.TemplateRenderError: the sandbox refused or failed.
        server.documents.pdf.DocumentRenderError: WeasyPrint failed or a resource was
            refused (:class:`~server.documents.pdf.ResourceRefusedError`).
    """
    html = render_html(template, data)
    pdf = html_to_pdf(html, template.css, PdfOptions(assets_dir, pdf_variant))
    return RenderedDocument(html, pdf)
