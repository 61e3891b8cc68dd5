"""A render runs in a forked child that the kernel stops: processor time, memory and
wall-clock time are hard limits, whatever the child is doing (even one C call)."""

from __future__ import annotations

import time

import psutil
import pytest

from server.documents.isolation import ChildLimits, ChildStopped, run_in_child
from server.documents.sandbox import RenderLimitExceeded, TemplateRenderError, render_source

TIGHT = ChildLimits(cpu_seconds=1, memory_bytes=256 * 2**20, wall_seconds=20.0)


def _sleep(seconds: float) -> None:
    time.sleep(seconds)


def _allocate(size: int) -> int:
    return len(bytearray(size))


def _refuse() -> None:
    raise TemplateRenderError("refused here", 7)


def test_one_long_c_call_is_stopped_by_the_processor_limit() -> None:
    started = time.monotonic()
    with pytest.raises(ChildStopped) as caught:
        run_in_child(pow, (7, 10**9), TIGHT)  # one C call of minutes
    assert caught.value.reason == "cpu"
    assert time.monotonic() - started < 6


def test_a_child_that_waits_is_killed_at_the_wall_clock_limit() -> None:
    # other children of the test process (the session's Redis) are not this test's
    before = {child.pid for child in psutil.Process().children()}
    started = time.monotonic()
    with pytest.raises(ChildStopped) as caught:
        run_in_child(_sleep, (60,), ChildLimits(5, 256 * 2**20, 0.5))
    assert caught.value.reason == "wall"
    assert time.monotonic() - started < 10  # stopped at its limit, not after its 60 s
    left = [child for child in psutil.Process().children() if child.pid not in before]
    assert left == []  # the child was reaped, not left a zombie


def test_memory_past_the_limit_is_a_memory_error_and_within_it_is_fine() -> None:
    with pytest.raises(MemoryError):
        run_in_child(_allocate, (2**31,), TIGHT)
    assert run_in_child(_allocate, (2**20,), TIGHT) == 2**20


def test_results_and_errors_come_back_as_themselves() -> None:
    assert run_in_child(sorted, ([3, 1, 2],), TIGHT) == [1, 2, 3]
    with pytest.raises(TemplateRenderError) as caught:
        run_in_child(_refuse, (), TIGHT)
    assert (caught.value.line, caught.value.issue.message) == (7, "refused here")


def test_template_code_past_the_processor_limit_is_refused_with_a_reason() -> None:
    loop = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    started = time.monotonic()
    with pytest.raises(RenderLimitExceeded) as caught:
        # the template's own deadline is far away: the child's processor limit ends it
        render_source(loop, {}, seconds=600, limits=TIGHT)
    assert str(caught.value) == "rendering used more than 1 s of processor time"
    assert time.monotonic() - started < 6


def test_a_pdf_layout_past_its_processor_limit_is_refused_quickly() -> None:
    from pathlib import Path

    from server.documents.pdf import DocumentRenderError, PdfOptions, html_to_pdf

    # what a template may output within its own bounds: ~8 000 paragraphs of layout
    # (2 000 laid out in under 1 s of processor time on a quiet machine: no refusal)
    html = render_source("{% for i in range(8000) %}<p>clause {{ i }}</p>{% endfor %}", {})
    assets = Path(__file__).parents[3] / "contract_templates" / "assets"
    started = time.monotonic()
    with pytest.raises(DocumentRenderError, match="used more than 1 s of processor time"):
        html_to_pdf(html, "", PdfOptions(assets), TIGHT)
    assert time.monotonic() - started < 10
