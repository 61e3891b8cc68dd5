"""rq jobs of workflows: run the actions of the state an instance just entered.

The job takes the instance id and hands off to
:func:`server.workflows.runner.run_pending_actions`. It is queued with an
:class:`rq.Retry`; the runner learns from the job whether this is its last attempt,
and only then leaves the instance in the ``error`` status.
"""

from __future__ import annotations

from collections.abc import Sequence

from flask import Flask, current_app
from rq import Retry, get_current_job
from rq.job import Job

from server.queues import get_queue, queue_or_log
from server.tasks.documents import enqueue_pending_contract_renders
from server.tasks.worker import app_job
from server.workflows.queries import has_pending_actions
from server.workflows.runner import run_pending_actions

#: queue the workflow jobs run on (one every worker listens on)
WORKFLOWS_QUEUE = "default"
#: seconds between attempts of a failing action job; one retry per item. Override
#: with ``WORKFLOW_ACTION_RETRY_INTERVALS``. Non-zero waits need a worker that runs
#: rq's scheduler (``Worker.work(with_scheduler=True)``).
DEFAULT_RETRY_INTERVALS: tuple[int, ...] = (10, 60, 300)
#: seconds one job may take (an SMTP server that hangs, a slow contract number lock)
ACTIONS_JOB_TIMEOUT = 300


@app_job
def run_workflow_actions_job(instance_id: int) -> str:
    """Run the instance's pending actions; returns the instance status after.

    An action that created a contract committed it as ``pending``: its render is
    queued here, after the actions (areas never queue jobs themselves).
    """
    job = get_current_job()
    last_attempt = job is None or not job.retries_left
    try:
        return run_pending_actions(instance_id, last_attempt=last_attempt).value
    finally:
        queue_or_log("contract renders", enqueue_pending_contract_renders)


def retry_intervals(app: Flask | None = None) -> Sequence[int]:
    config = (app or current_app).config
    return tuple(config.get("WORKFLOW_ACTION_RETRY_INTERVALS", DEFAULT_RETRY_INTERVALS))


def enqueue_workflow_actions(instance_id: int, app: Flask | None = None) -> Job:
    """Queue the run of an instance's pending actions, with retries.

    Raises:
        server.errors.ConfigurationError: Redis cannot be reached.
    """
    intervals = list(retry_intervals(app))
    queue = get_queue(WORKFLOWS_QUEUE, app)
    return queue.enqueue(
        run_workflow_actions_job,
        instance_id,
        retry=Retry(max=len(intervals), interval=intervals) if intervals else None,
        job_timeout=ACTIONS_JOB_TIMEOUT,
        result_ttl=3600,
        failure_ttl=7 * 24 * 3600,
    )


def queue_instance_actions(instance_id: int) -> bool:
    """After a start, a transition or a retry has committed: queue the worker if the
    instance has actions waiting. Redis down: logged, and the runs stay pending for the
    instance page's "retry"."""
    if not has_pending_actions(instance_id):
        return False
    return queue_or_log(
        f"workflow {instance_id} actions", lambda: enqueue_workflow_actions(instance_id)
    )
