"""Fonts: the editor and diff pages load fonts only from this site (and each exists);
the live preview references none of the PDF's font files, which the PDF still embeds."""

from __future__ import annotations

import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from server.documents.rendering import preview_stylesheet
from server.documents.templates import save_template
from server.security.roles import Role
from tests.integration.documents.conftest import World, agreement_ru
from tests.support.web import login

SITE = "http://localhost"
_CSS_URL = re.compile(r"""url\(\s*(['"]?)(.*?)\1\s*\)""", re.IGNORECASE)
_FONT_FILE = re.compile(r"\.(?:woff2?|ttf|otf|eot)(?:[?#].*)?$", re.IGNORECASE)


def css_urls(text: str, base: str) -> list[str]:
    """The ``url()`` references in CSS (or in a page's inline styles), made absolute."""
    return [
        url if url.lower().startswith("data:") else urljoin(base, url)
        for _quote, url in _CSS_URL.findall(text)
    ]


class _PageStyles(HTMLParser):
    """A page's CSS (``<style>`` elements and ``style`` attributes) and stylesheet links.
    Text such as the CSS in the editor's textarea or in a diff is not loaded: not here."""

    def __init__(self) -> None:
        super().__init__()
        self.css: list[str] = []
        self.stylesheets: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if attributes.get("style"):
            self.css.append(attributes["style"] or "")
        if tag == "style":
            self._in_style = True
        elif tag == "link" and "stylesheet" in (attributes.get("rel") or "").split():
            self.stylesheets.append(attributes.get("href") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.css.append(data)


def font_urls(client: FlaskClient, page_path: str, html: str) -> list[str]:
    """Every font URL the page could load: from its inline styles and its stylesheets."""
    page_url = urljoin(SITE, page_path)
    styles = _PageStyles()
    styles.feed(html)
    urls = css_urls("\n".join(styles.css), page_url)
    for href in styles.stylesheets:
        stylesheet = urljoin(page_url, href)
        assert urlsplit(stylesheet).netloc == "localhost", stylesheet
        with client.get(urlsplit(stylesheet).path) as response:
            assert response.status_code == 200, stylesheet
            urls += css_urls(response.get_data(as_text=True), stylesheet)
    return [url for url in urls if url.lower().startswith("data:") or _FONT_FILE.search(url)]


def assert_fonts_from_this_site(client: FlaskClient, page_path: str, html: str) -> None:
    fonts = font_urls(client, page_path, html)
    for url in fonts:
        if url.lower().startswith("data:"):
            continue
        assert urlsplit(url).netloc == "localhost", url  # the CSP's font-src 'self'
        with client.get(urlsplit(url).path) as response:
            assert response.status_code == 200, url
    assert not [url for url in fonts if "DejaVuSerif" in url]


def test_editor_diff_and_preview_load_no_font_from_elsewhere(docs_app: Flask, world: World) -> None:
    client = login(docs_app, Role.LEGAL)
    published = agreement_ru()
    draft = save_template(published.id, published.body_html + "\n<p>v2</p>", published.css)
    assert "url(fonts/DejaVuSerif.ttf)" in published.css  # what the PDF reads

    for path in (
        f"/contracttemplateview/editor/{published.id}",
        f"/contracttemplateview/diff/{draft.id}",
    ):
        page = client.get(path)
        assert page.status_code == 200, path
        assert_fonts_from_this_site(client, path, page.get_data(as_text=True))

    preview = client.post(
        f"/contracttemplateview/preview/{published.id}",
        data={"body_html": published.body_html, "css": published.css, "partner_id": "0"},
        headers={"X-CSRFToken": "x"},
    ).get_json()
    assert preview["issues"] == []
    html = preview["html"]
    assert "DejaVuSerif" not in html and "@font-face" not in html
    assert '"Contract Serif", serif' in html  # the rest of the print CSS is kept
    assert all(url.startswith("data:") for url in css_urls(html, SITE))


def test_the_pdf_still_embeds_the_template_fonts(
    docs_app: Flask, world: World, tmp_path: Path
) -> None:
    client = login(docs_app, Role.LEGAL)
    template = agreement_ru()
    pdf = client.post(
        f"/contracttemplateview/preview_pdf/{template.id}",
        data={
            "body_html": template.body_html,
            "css": template.css,
            "partner_id": world.partners["A-AMB-01"],
        },
    )
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF-")
    target = tmp_path / "preview.pdf"
    target.write_bytes(pdf.data)
    fonts = subprocess.run(
        ["pdffonts", str(target)], capture_output=True, text=True, check=True
    ).stdout
    embedded = {line.split()[0].split("+")[-1] for line in fonts.splitlines()[2:]}
    # named after the @font-face family: the files under contract_templates/assets
    assert {"Contract-Serif", "Contract-Serif-Bold"} <= embedded, fonts


@pytest.mark.parametrize(
    ("css", "expected"),
    [
        ("@font-face { src: url(fonts/A.ttf) } p { color: red }", " p { color: red }"),
        ('@FONT-FACE{src:URL("fonts/A.ttf") format("truetype")}p{}', "p{}"),
        (
            "@media print { @font-face { src: url(a.ttf) } p { margin: 0 } }",
            "@media print {  p { margin: 0 } }",
        ),
        ('@import "other.css"; p{}', " p{}"),
        (
            "@font-face{src:url(data:font/ttf;base64,AAAA)}",
            "@font-face{src:url(data:font/ttf;base64,AAAA)}",
        ),
        (
            "@font-face{font-family:X;src:local(DejaVu Serif)}",
            "@font-face{font-family:X;src:local(DejaVu Serif)}",
        ),
        # images are not the preview's concern (its policy blocks them); a rule left
        # unfinished is dropped, as the browser drops it
        ("p{background:url(img.png)} a{} b", "p{background:url(img.png)} a{} "),
    ],
)
def test_the_preview_stylesheet_drops_only_rules_that_load_files(css: str, expected: str) -> None:
    assert preview_stylesheet(css) == expected
