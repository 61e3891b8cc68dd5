"""rq jobs of the ``documents`` queue: render a contract's PDF.

Jobs take ids and call a command inside the worker's app context. The job id is
derived from the contract id, so queueing a render twice while the first is waiting
does not render twice (and :func:`~server.documents.contracts.render_contract` leaves a
rendered contract alone anyway).
"""

from __future__ import annotations

from flask import Flask
from rq.job import Job

from server.queues import get_queue
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
    from server.documents.contracts import render_contract

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
