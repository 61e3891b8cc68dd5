"""Campaign tests run on the workflow engine (the lifecycle) and the programs workspace
(the composer): their fixtures, shared with those folders."""

from tests.integration.workflows.conftest import campaign_world, wf_app
from tests.integration.workspace.conftest import ws_app

__all__ = ["campaign_world", "wf_app", "ws_app"]
