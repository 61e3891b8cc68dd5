"""HTML + CSS to PDF with WeasyPrint, reading nothing but the project's own assets.

Templates reference fonts and images relative to ``contract_templates/assets/``
(``url(fonts/DejaVuSerif.ttf)``): the document's base URL is that folder. The URL
fetcher serves ``data:`` URLs and files inside the folder and stops the render with
:class:`weasyprint.urls.FatalURLFetchingError` for anything else (``file:///etc/…``,
``http://127.0.0.1/…``, a path escaping the folder through ``..`` or a symlink).

The layout runs in a forked child under :data:`PDF_LIMITS` (processor, memory and
wall-clock time; :mod:`server.documents.isolation`): a template's output decides how
much WeasyPrint does, and the page limit is only known once the layout is done.
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse

from server.documents.isolation import ChildLimits, ChildStopped, run_in_child

#: archival PDF with Unicode text, as contracts are kept for years
DEFAULT_PDF_VARIANT = "pdf/a-3u"
#: documents longer than this are refused (WeasyPrint's memory grows with pages)
MAX_PAGES = 200
#: the child a layout runs in: a contract takes about a second, 200 pages well under a
#: minute; past this a template's output is refused instead of holding the worker
PDF_LIMITS = ChildLimits(cpu_seconds=60, memory_bytes=2 * 2**30, wall_seconds=180.0)


class DocumentRenderError(Exception):
    """WeasyPrint could not produce the PDF, or a limit or the URL policy stopped it."""


class ForbiddenResourceError(FatalURLFetchingError):
    """Raised by the fetcher to stop WeasyPrint (a ``BaseException``, as WeasyPrint needs)."""


class ResourceRefusedError(DocumentRenderError):
    """A template referenced a resource outside ``data:`` and the project's assets."""


class AssetURLFetcher(URLFetcher):
    """Serve ``data:`` URLs and files under ``assets_dir``; refuse everything else."""

    def __init__(self, assets_dir: Path | str, **kwargs: Any) -> None:
        super().__init__(allowed_protocols=("data", "file"), allow_redirects=False, **kwargs)
        self.assets_dir = Path(assets_dir).resolve()

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        scheme = urlsplit(url).scheme.lower()
        if scheme == "data":
            return super().fetch(url, headers)
        if scheme == "file":
            path = self._asset_path(url)
            if path is not None:
                mime, _ = mimetypes.guess_type(path.name)
                return URLFetcherResponse(
                    path.as_uri(),
                    path.read_bytes(),
                    {"Content-Type": mime or "application/octet-stream"},
                )
        raise ForbiddenResourceError(
            f"resource not allowed in documents: {url[:200]} "
            "(use data: URLs or files under contract_templates/assets)"
        )

    def _asset_path(self, url: str) -> Path | None:
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            return None
        path = Path(url2pathname(unquote(parts.path))).resolve()
        if path.is_relative_to(self.assets_dir) and path.is_file():
            return path
        return None


@dataclass(frozen=True)
class PdfOptions:
    assets_dir: Path
    pdf_variant: str | None = DEFAULT_PDF_VARIANT
    max_pages: int = MAX_PAGES


def base_url(assets_dir: Path) -> str:
    """The URL relative references in templates resolve against (the assets folder)."""
    return Path(assets_dir).resolve().as_uri() + "/"


def html_to_pdf(
    html: str, css: str, options: PdfOptions, limits: ChildLimits = PDF_LIMITS
) -> bytes:
    """Lay out ``html`` with the stylesheet ``css`` in a child process under ``limits``
    and return the PDF bytes.

    Raises:
        ResourceRefusedError: the HTML or CSS referenced a resource that is not
            ``data:`` or a file under the assets folder.
        DocumentRenderError: the layout failed, has more than ``max_pages`` pages, or
            went over a limit of its child process.
    """
    try:
        pdf: bytes = run_in_child(_layout, (html, css, options), limits)
    except ChildStopped as stopped:
        if stopped.reason == "cpu":
            raise DocumentRenderError(
                f"the PDF layout used more than {limits.cpu_seconds} s of processor time"
            ) from None
        if stopped.reason == "wall":
            raise DocumentRenderError(
                f"the PDF layout took longer than {limits.wall_seconds:g} s"
            ) from None
        raise DocumentRenderError(f"the PDF layout stopped unexpectedly ({stopped})") from None
    except MemoryError:
        raise DocumentRenderError("the PDF layout ran out of memory") from None
    return pdf


def _layout(html: str, css: str, options: PdfOptions) -> bytes:
    """The layout itself, in the current process (:func:`html_to_pdf` calls it in a
    child)."""
    fetcher = AssetURLFetcher(options.assets_dir)
    fonts = FontConfiguration()
    root = base_url(options.assets_dir)
    try:
        stylesheet = CSS(string=css, base_url=root, url_fetcher=fetcher, font_config=fonts)
        document = HTML(string=html, base_url=root, url_fetcher=fetcher).render(
            stylesheets=[stylesheet], font_config=fonts
        )
        if len(document.pages) > options.max_pages:
            raise DocumentRenderError(
                f"the document has {len(document.pages)} pages; at most {options.max_pages}"
            )
        extra: dict[str, Any] = {}
        if options.pdf_variant:
            extra["pdf_variant"] = options.pdf_variant
        pdf = document.write_pdf(**extra)
    except FatalURLFetchingError as error:
        raise ResourceRefusedError(str(error)) from None
    except DocumentRenderError:
        raise
    except Exception as error:  # WeasyPrint raises many kinds on malformed input
        raise DocumentRenderError(f"PDF layout failed: {type(error).__name__}: {error}") from error
    if not isinstance(pdf, bytes):
        raise DocumentRenderError("WeasyPrint returned no PDF")
    return pdf
