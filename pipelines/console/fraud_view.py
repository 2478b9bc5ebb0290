"""The console's fraud page, computed from the records it has read: pure and bounded.

``FraudView`` is fed ``fraud-alerts-triaged`` (the analysts' queue), ``fraud-verdicts``
(what was decided, by anyone: this console, a case tool, a chargeback feed) and
``fraud-quality`` (each rule's precision per window of alert time, and cumulative).
The queue shows every alert with the latest verdict of its id, read from the topic
rather than remembered from the click: a verdict given elsewhere shows too, and a
click shows only once the broker has it. Quality keeps, per rule, the latest record
of each window and the latest cumulative one, so a window re-emitted as late
verdicts arrive replaces its earlier figures instead of adding a point.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

JsonDict = dict[str, Any]

TRIAGED = "fraud-alerts-triaged"
VERDICTS = "fraud-verdicts"
QUALITY = "fraud-quality"


class FraudView:
    """The latest ``alerts`` triaged alerts, their verdicts and each rule's quality."""

    def __init__(self, *, alerts: int = 50, windows: int = 30, verdicts: int = 10_000) -> None:
        self._alerts: dict[str, JsonDict] = {}
        self._keep_alerts = alerts
        # verdicts may be read before their alert (topics interleave): keep them apart, bounded
        self._verdicts: OrderedDict[str, JsonDict] = OrderedDict()
        self._keep_verdicts = verdicts
        self._windows: dict[str, dict[str, JsonDict]] = {}  # rule -> window_start -> record
        self._cumulative: dict[str, JsonDict] = {}  # rule -> latest cumulative record
        self._keep_windows = windows
        self._lock = threading.Lock()

    def add(self, topic: str, value: JsonDict) -> None:
        """One record of a fraud topic (unprefixed name); others are ignored."""
        with self._lock:
            if topic == TRIAGED:
                self._alerts[value["alert_id"]] = value  # redelivered: same id, shown once
                newest = sorted(self._alerts, key=lambda a: self._alerts[a]["ts"])
                for alert_id in newest[: -self._keep_alerts]:
                    del self._alerts[alert_id]
            elif topic == VERDICTS:
                self._verdicts.pop(value["alert_id"], None)  # a changed verdict replaces
                self._verdicts[value["alert_id"]] = value
                while len(self._verdicts) > self._keep_verdicts:
                    self._verdicts.popitem(last=False)
            elif topic == QUALITY:
                rule = value["rule"]
                if value.get("scope") == "cumulative":
                    self._cumulative[rule] = value
                else:
                    windows = self._windows.setdefault(rule, {})
                    windows[value["window_start"]] = value
                    for start in sorted(windows)[: -self._keep_windows]:
                        del windows[start]

    def summary(self) -> JsonDict:
        """What the page draws: the queue newest first, undecided ones before decided ones,
        and per rule its cumulative figures and its windows in time order."""
        with self._lock:
            queue = [
                {**alert, "verdict": self._verdicts.get(alert_id)}
                for alert_id, alert in self._alerts.items()
            ]
            rules = sorted(set(self._windows) | set(self._cumulative))
            quality = [
                {
                    "rule": rule,
                    "cumulative": _figures(self._cumulative.get(rule)),
                    "by_severity": (self._cumulative.get(rule) or {}).get("by_severity", {}),
                    "windows": [
                        {"window_start": start, **(_figures(record) or {})}
                        for start, record in sorted(self._windows.get(rule, {}).items())
                    ],
                }
                for rule in rules
            ]
        queue.sort(key=lambda a: a["ts"], reverse=True)
        queue.sort(key=lambda a: a["verdict"] is not None)  # stable: newest first within each
        return {
            "queue": queue,
            "undecided": sum(1 for a in queue if a["verdict"] is None),
            "quality": quality,
        }


def _figures(record: JsonDict | None) -> JsonDict | None:
    """The counts a quality record states, without its window bounds and severities."""
    if record is None:
        return None
    return {k: record.get(k) for k in ("alerts", "verdicts", "confirmed", "precision")}
