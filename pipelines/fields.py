"""Every topic's fields and an example line, rendered from the event models.

A newcomer should learn a topic's fields from ``streamwise produce --help`` or the
README, not from rejected lines. Both show text rendered here from the models'
JSON schema, so the documentation cannot drift from what is validated; the one
hand-written part is an example line per input topic, and a test validates each.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pipelines.common.topics import CONTRACT_TOPICS, TopicSpec, spec

JsonSchema = dict[str, Any]

EXAMPLES: dict[str, dict[str, Any]] = {
    "transactions": {
        "txn_id": "t-1001", "card_id": "card-42", "ts": "2026-11-22T10:00:00Z",
        "lat": 51.5072, "lon": -0.1276, "amount": 42.5, "currency": "GBP",
        "merchant": "Grocer London", "country": "GB", "channel": "card_present",
    },
    "customers": {
        "card_id": "card-42", "customer_id": "cust-7", "home_country": "GB",
        "travel_notices": [{"country": "FR", "from": "2026-11-20", "to": "2026-11-27"}],
        "risk_tier": "standard",
    },
    "feedback": {
        "feedback_id": "fb-1", "ts": "2026-11-22T10:00:00Z", "source": "app_review",
        "text": "The app logs me out every time I open a statement.",
        "customer_id": "cust-7", "rating": 2,
    },
    "kb-changes": {
        "doc_id": "fees", "version": 3, "op": "upsert", "ts": "2026-11-22T10:00:00Z",
        "title": "Card fees", "text": "Card payments abroad cost 2.5 percent of the amount.",
        "source": "policies", "url": "https://bank.example/fees",
    },
    "questions": {
        "question_id": "q-1", "text": "What is the foreign transaction fee?",
        "ts": "2026-11-22T10:00:00Z", "customer_id": "cust-7",
    },
    "fraud-verdicts": {
        "alert_id": "4f1c2a9e0b7d4e8f9a1b2c3d4e5f6a7b", "verdict": "fraud",
        "ts": "2026-11-29T16:20:00Z", "analyst": "ana", "note": "chargeback received",
    },
    "feedback-labels": {
        "feedback_id": "f-2001", "ts": "2026-11-29T16:25:00Z", "sentiment": "negative",
        "category": "delivery", "labeller": "sam",
    },
}  # fmt: skip
"""One valid line per topic a user produces to (the input topics), in field order."""


@dataclass(frozen=True)
class FieldDoc:
    """One row of a topic's field list; nested fields are ``outer.inner`` or ``outer[].inner``.

    ``required`` of a nested field means required in each object the outer field holds.
    """

    name: str
    required: bool
    kind: str

    @property
    def presence(self) -> str:
        """``required``, ``optional``, or ``required in each`` for a field of nested objects."""
        word = "required" if self.required else "optional"
        return f"{word} in each" if "." in self.name else word


def field_docs(topic: TopicSpec) -> list[FieldDoc]:
    """The fields of ``topic``'s events: required first, then optional, each before its nested."""
    if topic.model is None:
        return []
    schema = topic.model.model_json_schema()
    groups = list(_groups(schema, schema.get("$defs", {}), ""))
    ordered = [g for g in groups if g[0].required] + [g for g in groups if not g[0].required]
    return [row for group in ordered for row in group]


def example_line(name: str) -> str | None:
    """The example JSON line of topic ``name``, if it is an input topic."""
    example = EXAMPLES.get(name)
    return json.dumps(example, ensure_ascii=False) if example is not None else None


def field_help(name: str) -> str:
    """Plain text for ``streamwise produce --help``: one topic's key, fields and example."""
    topic = spec(name)
    rows = field_docs(topic)
    name_width = max((len(row.name) for row in rows), default=0)
    presence_width = max((len(row.presence) for row in rows), default=0)
    lines = [f"{topic.name} (key: {topic.key_field or 'none'})"]
    lines += [
        f"  {row.name:<{name_width}}  {row.presence:<{presence_width}}  {row.kind}" for row in rows
    ]
    example = example_line(topic.name)
    if example is not None:
        lines += ["  example line:", f"    {example}"]
    return "\n".join(lines) + "\n"


def produce_help() -> str:
    """The field help of every input topic (those with an example), for ``produce --help``."""
    return "\n".join(field_help(name) for name in EXAMPLES)


TOPICS_PAGE = "docs/topics.md"
"""Where ``topics_page()`` is kept in the repository (a test keeps the two equal)."""


def topics_page() -> str:
    """``docs/topics.md``: every contract topic, its key, its fields and an example line."""
    parts = [
        "# Topics and their fields\n",
        "Generated from the event models (`python -m pipelines.fields > "
        f"{TOPICS_PAGE}`), so it says "
        "exactly what is validated; `streamwise produce --help` shows the same for the input "
        "topics. Every value is a JSON object; unknown extra fields are kept, but one that "
        "looks like a field the event lacks (`travel_notice` for `travel_notices`) is "
        'rejected with a hint, and other look-alikes (`"card_present": true`) are kept '
        "with a warning. Enumerations are exact and lower case.\n",
    ]
    for topic in CONTRACT_TOPICS:
        parts.append(_markdown_topic(topic))
    return "\n".join(parts)


def _markdown_topic(topic: TopicSpec) -> str:
    lines = [f"## `{topic.name}`\n", f"Key: `{topic.key_field}`.\n"]
    lines += ["| field | presence | type |", "|---|---|---|"]
    lines += [f"| `{row.name}` | {row.presence} | {row.kind} |" for row in field_docs(topic)]
    example = example_line(topic.name)
    if example is not None:
        lines += ["", "Example line:", "", "```json", example, "```"]
    return "\n".join(lines) + "\n"


def _groups(schema: JsonSchema, defs: JsonSchema, prefix: str) -> Iterator[list[FieldDoc]]:
    """Per property of an object schema: its row, then the rows of the objects it holds."""
    required = set(schema.get("required", ()))
    for name, node in schema.get("properties", {}).items():
        shown = node if name in required else _without_null(node)
        group = [FieldDoc(prefix + name, name in required, _kind(shown, defs))]
        nested, many = _nested(node, defs)
        if nested is not None:
            inner = f"{prefix}{name}{'[]' if many else ''}."
            group += [row for rows in _groups(nested, defs, inner) for row in rows]
        yield group


def _without_null(node: JsonSchema) -> JsonSchema:
    """An optional field's schema without its ``null`` variant: absent says the same, simpler."""
    variants = [v for v in node.get("anyOf", []) if v.get("type") != "null"]
    if len(variants) != 1:
        return node
    extras = {key: value for key, value in node.items() if key != "anyOf"}
    return {**variants[0], **extras}


def _nested(node: JsonSchema, defs: JsonSchema) -> tuple[JsonSchema | None, bool]:
    """The object schema a field holds (directly, in a list, or or-null), and whether in a list."""
    for variant in node.get("anyOf", [node]):
        if "$ref" in variant:
            return _resolve(variant, defs), False
        if "$ref" in variant.get("items", {}):
            return _resolve(variant["items"], defs), True
    return None, False


def _kind(node: JsonSchema, defs: JsonSchema) -> str:
    """A person's reading of one JSON schema node: type, enumeration, bounds, default."""
    if "anyOf" in node:
        variants = [v for v in node["anyOf"] if v.get("type") != "null"]
        kind = " or ".join(_kind(v, defs) for v in variants)
        kind += " or null" if len(variants) < len(node["anyOf"]) else ""
    elif "$ref" in node:
        properties = _resolve(node, defs).get("properties", {})
        kind = "{" + ", ".join(properties) + "}"
    elif "enum" in node:
        kind = "one of " + ", ".join(node["enum"])
    else:
        kind = _plain_kind(node, defs)
    if node.get("description"):
        kind += f": {node['description']}"
    if node.get("default") is not None:
        kind += f" (default {node['default']})"
    return kind


def _plain_kind(node: JsonSchema, defs: JsonSchema) -> str:
    kind = node.get("type", "any")
    if kind == "string":
        return _string_kind(node)
    if kind in ("number", "integer"):
        low, high = node.get("minimum"), node.get("maximum")
        if low is not None and high is not None:
            return f"{kind} from {low} to {high}"
        if low is not None:
            return f"{kind} >= {low}"
        return str(kind)
    if kind == "array":
        items = node.get("items", {})
        return f"list of {_kind(items, defs)}" if items else "list"
    if kind == "object" and isinstance(node.get("additionalProperties"), dict):
        return f"object: name to {_kind(node['additionalProperties'], defs)}"
    return str(kind)


def _string_kind(node: JsonSchema) -> str:
    formats = {"date-time": "ISO 8601 timestamp with zone", "date": "date (YYYY-MM-DD)"}
    if node.get("format") in formats:
        return formats[node["format"]]
    if "pattern" in node:
        return f"string matching {node['pattern']}"
    return "non-empty string" if node.get("minLength") == 1 else "string"


def _resolve(node: JsonSchema, defs: JsonSchema) -> JsonSchema:
    ref: str = node["$ref"]
    resolved: JsonSchema = defs[ref.rsplit("/", 1)[-1]]
    return resolved


if __name__ == "__main__":
    print(topics_page(), end="")
