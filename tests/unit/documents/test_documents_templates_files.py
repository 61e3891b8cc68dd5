"""Every file in contract_templates/ loads and validates; broken files are refused with
the file and field named; every seed renders to a PDF/A with Cyrillic text and refuses
resources outside its assets."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from server.config import REPO_ROOT
from server.documents.manifest import ManifestError, load_seed_templates, load_variables
from server.documents.models import TemplateKind
from server.documents.pdf import PdfOptions, ResourceRefusedError, html_to_pdf
from server.documents.rendering import TemplateSource, render_document

TEMPLATES = REPO_ROOT / "contract_templates"
ASSETS = TEMPLATES / "assets"


def test_every_seed_template_loads_with_both_languages() -> None:
    seeds = {seed.key: seed for seed in load_seed_templates(TEMPLATES)}
    assert set(seeds) == {"partner_agreement", "monthly_statement"}
    assert seeds["partner_agreement"].kind is TemplateKind.agreement
    assert seeds["monthly_statement"].kind is TemplateKind.statement
    for seed in seeds.values():
        assert seed.languages == ("ru", "en")
        assert "@page" in seed.css and "counter(pages)" in seed.css
    variables = load_variables(TEMPLATES)
    assert "terms.minimum_payout" in variables.names(TemplateKind.agreement)


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "contract_templates"
    shutil.copytree(TEMPLATES, target, ignore=shutil.ignore_patterns("*.ttf"))
    return target


def _edit_manifest(root: Path, key: str, **changes: object) -> None:
    path = root / key / "manifest.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data.update(changes)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"schema_version": 2}, "field 'schema_version'"),
        ({"kind": "invoice"}, "field 'kind'"),
        ({"languages": ["ru", "de"]}, "field 'languages.1'"),
        ({"variables": ["partner.name", "partner.salary"]}, "partner.salary"),
        ({"variables": ["partner.name"]}, "unknown variable"),
        ({"body": {"ru": "missing.html", "en": "body.en.html"}}, "missing.html"),
    ],
)
def test_broken_manifests_are_refused_naming_file_and_field(
    tmp_path: Path, change: dict[str, object], message: str
) -> None:
    root = _copy(tmp_path)
    _edit_manifest(root, "partner_agreement", **change)
    with pytest.raises(ManifestError, match=message):
        load_seed_templates(root)


def test_a_body_with_a_syntax_error_is_refused_with_its_line(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    (root / "monthly_statement" / "body.en.html").write_text("ok\n{% for row in rows %}\n")
    with pytest.raises(ManifestError, match=r"body.en.html: line 2"):
        load_seed_templates(root)


def _text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "out.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True)
    return " ".join(out.stdout.split())


@pytest.mark.parametrize(
    ("key", "language"), [("partner_agreement", "en"), ("monthly_statement", "ru")]
)
def test_seed_samples_render_to_pdf_with_text(tmp_path: Path, key: str, language: str) -> None:
    seed = next(s for s in load_seed_templates(TEMPLATES) if s.key == key)
    data = {**seed.sample, "language": language}
    document = render_document(
        TemplateSource(seed.bodies[language], seed.css, language), data, ASSETS
    )
    text = _text(document.pdf, tmp_path)
    if key == "monthly_statement":
        assert "Выписка начислений партнёра № A-AMB-01-2026-10" in text
        assert "13 540,00 ₽" in text and "2 140,00 ₽" in text  # accrued, closing balance
        assert "Остаток на начало периода 1 200,00 ₽" in text
        assert "7 % с онлайн-продаж в регионе A" in text  # the rule in plain words
        # the hold reason by its rule's title (not its key), the reversed sale
        assert "Задержка крупных продаж" in text and "large-sale" not in text
        assert "S-1001" in text
        assert "Процент с продаж (CPS) · онлайн" in text  # a group heading in words
        assert "сентябрь 2026" in text and "Итого корректировок" in text
        assert "Бесплатное обучение" in text
        # one section per program, each with its total, adding up to the period's
        assert "Программа «Партнёрская программа 2026»" in text
        assert "Кампания «Зимняя кампания»" in text
        assert "Итого по разделу (к выплате) 105,00 ₽" in text
        assert "Итого за период (к выплате) 940,00 ₽" in text
        assert "Страница 1 из 3" in text
    else:
        assert "Partner agreement No. A-2026-0001" in text
        assert "1,000.00 ₽" in text and "page 1 of 2" in text
        assert "Антон Амбассадоров" in text  # Cyrillic data inside an English document


@pytest.mark.parametrize(
    ("html", "css"),
    [
        ('<img src="file:///etc/passwd">', ""),
        ('<link rel="stylesheet" href="http://127.0.0.1:9/x.css">', ""),
        ('<img src="fonts/../../server/app.py">', ""),
        ("<p>x</p>", "@import url(file:///etc/passwd);"),
        ("<p>x</p>", "body { background: url(http://127.0.0.1:9/pixel) }"),
        (
            "<p>x</p>",
            "@font-face { font-family: x; src: url(file://"
            + "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf) } p { font-family: x }",
        ),
    ],
)
def test_resources_outside_the_assets_are_refused(html: str, css: str) -> None:
    with pytest.raises(ResourceRefusedError, match="not allowed in documents"):
        html_to_pdf(html, css, PdfOptions(ASSETS, pdf_variant=None))


def test_data_urls_and_own_fonts_are_allowed() -> None:
    pixel = "data:image/gif;base64,R0lGODlhAQABAAAAACw="
    css = "@font-face { font-family: c; src: url(fonts/DejaVuSerif.ttf) } p { font-family: c }"
    pdf = html_to_pdf(f'<p>Ж<img src="{pixel}"></p>', css, PdfOptions(ASSETS, pdf_variant=None))
    assert pdf.startswith(b"%PDF-")
