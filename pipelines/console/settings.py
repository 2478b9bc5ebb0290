"""What the console must agree on with the feedback pipeline, read from the same variables.

The console may not import ``pipelines.feedback`` (each pipeline family stands alone,
``tests/test_layering.py``), yet it must count open windows as the pipeline closes
them and search the collection the pipeline writes. So it reads the very same
``FEEDBACK_WINDOW``, ``FEEDBACK_WINDOW_GRACE`` and ``FEEDBACK_COLLECTION``; a test holds
these defaults equal to ``FeedbackSettings``'.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from pipelines.common.settings import Duration


class ConsoleFeedbackSettings(BaseSettings):
    """The feedback pipeline's window, grace and collection, as the console needs them."""

    model_config = SettingsConfigDict(env_prefix="FEEDBACK_", extra="ignore")

    collection: str = Field(
        default="feedback", description="Chroma collection (topic prefix added)"
    )
    window: Duration = Field(default=timedelta(minutes=1), description="insight window length")
    window_grace: Duration = Field(
        default=timedelta(minutes=2), description="how late an item may be and still count"
    )
