"""The console reads the feedback pipeline's window, grace and collection from the same
variables with the same defaults: it may not import the pipeline, so this holds them equal."""

from __future__ import annotations

import pytest

from pipelines.console.settings import ConsoleFeedbackSettings
from pipelines.feedback.settings import FeedbackSettings


def test_the_defaults_are_the_feedback_pipelines() -> None:
    console, pipeline = ConsoleFeedbackSettings(), FeedbackSettings()
    assert (console.window, console.window_grace, console.collection) == (
        pipeline.window, pipeline.window_grace, pipeline.collection,
    )  # fmt: skip


def test_the_same_variables_set_both(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEEDBACK_WINDOW", "300")
    monkeypatch.setenv("FEEDBACK_COLLECTION", "reviews")
    console, pipeline = ConsoleFeedbackSettings(), FeedbackSettings()
    assert (console.window, console.collection) == (pipeline.window, pipeline.collection)
