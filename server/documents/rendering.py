"""Render a template version with data: sandboxed HTML, then a PDF. Pure of the database.

The HTML a template produces is a body fragment; :func:`html_document` wraps it with the
template's CSS into the page WeasyPrint lays out (the same document the browser preview
shows, inside a sandboxed frame).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from markupsafe import escape

from server.documents.pdf import DEFAULT_PDF_VARIANT, PdfOptions, html_to_pdf
from server.documents.sandbox import render_source

#: the policy the browser preview runs under: no scripts, no network, inline styles only
PREVIEW_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:; "
    "base-uri 'none'; form-action 'none'"
)


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
    """The page the editor shows in a sandboxed iframe: the body with the CSS inlined and
    a policy that blocks scripts and every network load."""
    safe_css = css.replace("</", "<\\/")  # a stylesheet cannot close its <style> element
    page = html_document(body, language, preview=True)
    return page.replace("</head>", f"<style>{safe_css}</style></head>", 1)


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
