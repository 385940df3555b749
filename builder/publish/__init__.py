"""Publishing a release folder to the Hub as one commit plus a `vX.Y.Z` tag, and verifying it."""

from builder.publish.plan import PublishPlan, make_plan
from builder.publish.publish import PublishResult, execute, publish
from builder.publish.verify import verify

__all__ = ["PublishPlan", "PublishResult", "execute", "make_plan", "publish", "verify"]
