"""Run the pending actions of an instance, in order, each claimed before it runs.

Called by the rq job ``run_workflow_actions_job`` (``tasks/workflows.py``). A run is
claimed with a conditional UPDATE (``pending`` → ``running``), so two workers never run
the same action. When an action fails, its run goes back to ``pending`` while rq still
has retries for the job; on the last attempt the run is ``failed`` and the instance
shows the reason in the ``error`` status until someone presses retry.
"""

from __future__ import annotations

import logging
from datetime import datetime

import sqlalchemy as sa

from server.audit.commands import record
from server.db.types import utcnow
from server.extensions import db
from server.workflows.actions import ACTION_FUNCTIONS, ActionContext, ActionFailed
from server.workflows.models import (
    ActionRunStatus,
    InstanceStatus,
    WorkflowActionRun,
    WorkflowInstance,
    WorkflowTransition,
)
from server.workflows.spec_cache import spec_of
from server.workflows.subjects import load_subject

logger = logging.getLogger(__name__)


def _next_pending(instance_id: int) -> WorkflowActionRun | None:
    return db.session.scalar(
        sa.select(WorkflowActionRun)
        .where(
            WorkflowActionRun.instance_id == instance_id,
            WorkflowActionRun.status == ActionRunStatus.pending,
        )
        .order_by(WorkflowActionRun.id)
        .limit(1)
    )


def _claim(run_id: int) -> bool:
    claimed = db.session.execute(
        sa.update(WorkflowActionRun)
        .where(WorkflowActionRun.id == run_id, WorkflowActionRun.status == ActionRunStatus.pending)
        .values(status=ActionRunStatus.running, attempts=WorkflowActionRun.attempts + 1)
    )
    db.session.commit()
    return bool(claimed.rowcount)


def _fired_by(run: WorkflowActionRun) -> tuple[int | None, datetime]:
    """Who fired the transition that queued the run, and when (the system, at the
    run's creation, for runs no transition queued)."""
    transition = (
        db.session.get(WorkflowTransition, run.transition_id)
        if run.transition_id is not None
        else None
    )
    if transition is None:
        return None, run.created_at
    return transition.actor_id, transition.at


def run_pending_actions(instance_id: int, last_attempt: bool = True) -> InstanceStatus:
    """Run every pending action of the instance, oldest first; return its status after.

    Raises:
        ActionFailed: an action failed; on ``last_attempt`` the instance is left in
            ``error`` with the reason, otherwise the run waits for rq's retry.
    """
    instance = db.session.get(WorkflowInstance, instance_id)
    if instance is None:
        raise ActionFailed(f"Workflow instance {instance_id} does not exist.")
    while (run := _next_pending(instance_id)) is not None:
        if not _claim(run.id):
            continue  # another worker took it
        db.session.refresh(run)
        try:
            actor_id, fired_at = _fired_by(run)
            context = ActionContext(
                instance=instance,
                run=run,
                subject=load_subject(instance.subject_type, instance.subject_id),
                actor_id=actor_id,
                fired_at=fired_at,
            )
            result = ACTION_FUNCTIONS[run.action](context)
        except Exception as error:  # any failure is recorded on the run, then re-raised
            db.session.rollback()
            reason = str(error) or error.__class__.__name__
            logger.warning("workflow %s action %s failed: %s", instance_id, run.action, reason)
            _record_failure(instance_id, run.id, reason, last_attempt)
            raise ActionFailed(reason) from error
        run.status = ActionRunStatus.done
        run.result = result
        run.error = None
        run.finished_at = utcnow()
        db.session.commit()
    return _settle(instance_id)


def _record_failure(instance_id: int, run_id: int, reason: str, last_attempt: bool) -> None:
    run = db.session.get(WorkflowActionRun, run_id)
    instance = db.session.get(WorkflowInstance, instance_id)
    assert run is not None and instance is not None
    run.error = reason
    if not last_attempt:
        run.status = ActionRunStatus.pending
        db.session.commit()
        return
    run.status = ActionRunStatus.failed
    run.finished_at = utcnow()
    instance.status = InstanceStatus.error
    instance.error = f"{run.action}: {reason}"
    record(
        None,
        "workflow.action_failed",
        "workflow_instance",
        instance.id,
        after={"action": run.action, "attempts": run.attempts, "error": reason},
    )
    db.session.commit()


def _settle(instance_id: int) -> InstanceStatus:
    """Running (or finished) again once no action is left to run."""
    instance = db.session.get(WorkflowInstance, instance_id, populate_existing=True)
    assert instance is not None
    unfinished = db.session.scalar(
        sa.select(sa.func.count(WorkflowActionRun.id)).where(
            WorkflowActionRun.instance_id == instance_id,
            WorkflowActionRun.status != ActionRunStatus.done,
        )
    )
    if not unfinished and instance.status is InstanceStatus.acting:
        state = spec_of(instance.definition).state(instance.state)
        instance.status = (
            InstanceStatus.finished if state is not None and state.final else InstanceStatus.running
        )
        instance.error = None
        db.session.commit()
    return instance.status
