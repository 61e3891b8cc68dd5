"""rq jobs of the ``documents`` queue: render a contract's PDF.

Jobs take ids and call a command inside the worker's app context. The job id is
derived from the contract id, so queueing a render twice while the first is waiting
does not render twice (and :func:`~server.documents.contracts.render_contract` leaves a
rendered contract alone anyway).
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import Flask
from rq.job import Job

from server.documents.contracts import pending_render_ids, render_contract
from server.queues import get_queue, queue_or_log
from server.tasks.worker import app_job

#: queue the document jobs run on
DOCUMENTS_QUEUE = "documents"
#: seconds a render may take before rq stops it (WeasyPrint on a long document)
RENDER_JOB_TIMEOUT = 300


def render_job_id(contract_id: int) -> str:
    return f"contract-render-{contract_id}"


@app_job
def render_contract_job(contract_id: int) -> str:
    """Render contract ``contract_id``; returns its render status."""
    return render_contract(contract_id).value


def enqueue_contract_render(contract_id: int, app: Flask | None = None) -> Job:
    """Queue the render of a contract on the ``documents`` queue.

    Raises:
        server.errors.ConfigurationError: Redis cannot be reached.
    """
    queue = get_queue(DOCUMENTS_QUEUE, app)
    return queue.enqueue(
        render_contract_job,
        contract_id,
        job_id=render_job_id(contract_id),
        job_timeout=RENDER_JOB_TIMEOUT,
        result_ttl=3600,
        failure_ttl=7 * 24 * 3600,
    )


def enqueue_contract_renders(contract_ids: Iterable[int], app: Flask | None = None) -> bool:
    """Queue the renders of contracts just committed; False if Redis was down (logged:
    the contracts stay ``pending`` for :func:`enqueue_pending_contract_renders`)."""
    ids = list(contract_ids)

    def send() -> None:
        for contract_id in ids:
            enqueue_contract_render(contract_id, app)

    return queue_or_log("contract renders", send)


def enqueue_pending_contract_renders(app: Flask | None = None) -> list[int]:
    """Queue the render of every contract still ``pending`` (after a Redis outage).

    Raises:
        server.errors.ConfigurationError: Redis cannot be reached.
    """
    ids = pending_render_ids()
    for contract_id in ids:
        enqueue_contract_render(contract_id, app)
    return ids
