"""Unknown fields that look like known ones: a misspelt field must not vanish silently.

The contract keeps unknown fields, so ``"travel_notice": {...}`` on a customer is
valid for the model: the notice is kept as an extra field and the profile behaves
as if it had none. This module finds, among an event's unknown field names, those
that look like a field of its model (another case or separator, singular for
plural, a typo) or like a value of one of its enumerations used as a name
(``"card_present": true`` on a transaction). A near miss for a field the event
lacks would lose its meaning (the caller rejects the event); one for a field the
event has is only suspicious (the caller warns and keeps the extra field).

Only unknown names are examined and a name's verdict is cached per model, so an
event without unknown fields costs one set difference.
"""

from __future__ import annotations

import difflib
import functools
import types
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel

_CUTOFF = 0.8
"""difflib ratio from which a name is a typo of a field: one slip in a name of five or more."""
_MAX_LENGTH_GAP = 2
"""A longer or shorter name is another field (``merchant_id`` is not ``merchant``)."""


@dataclass(frozen=True)
class NearMiss:
    """An unknown field at ``path`` that looks like the model's field ``meant``."""

    path: str
    meant: str
    suggestion: str
    lost: bool
    """``meant`` is absent from the event: the value's meaning would be lost."""

    def describe(self) -> str:
        """The reason an event is rejected for this near miss."""
        return f"unknown field {self.path!r}: did you mean {self.suggestion}?"

    def warning(self) -> str:
        """The warning for a near miss the event is kept with."""
        return f"{self.describe()} (kept as an extra field)"


@dataclass(frozen=True)
class _Names:
    """What one model knows about its field names, computed once per model."""

    spellings: dict[str, frozenset[str]]
    """wire name -> every name the model accepts for it (alias and attribute name)."""
    known: frozenset[str]
    squashed: dict[str, str]
    """case- and separator-free name -> wire name."""
    values: dict[str, tuple[str, str]]
    """case- and separator-free enumeration value -> (wire name, value)."""
    nested: dict[str, type[BaseModel]]
    """wire name -> the model of the objects it holds (one or a list)."""


def near_misses(model: type[BaseModel], data: Mapping[str, Any]) -> list[NearMiss]:
    """Unknown fields of ``data`` (and of its nested objects) that look like fields of ``model``."""
    return _near_misses(model, data, "")


def _near_misses(model: type[BaseModel], data: Mapping[str, Any], prefix: str) -> list[NearMiss]:
    names = _names(model)
    found = []
    if not names.known.issuperset(data):  # the common case costs this one test
        for name in sorted(data.keys() - names.known):
            hit = _meant(model, name)
            if hit is not None:
                meant, suggestion = hit
                lost = names.spellings[meant].isdisjoint(data.keys())
                found.append(NearMiss(prefix + name, meant, suggestion, lost))
    for field, inner in names.nested.items():
        value = data.get(field)
        if isinstance(value, Mapping):
            found.extend(_near_misses(inner, value, f"{prefix}{field}."))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, Mapping):
                    found.extend(_near_misses(inner, item, f"{prefix}{field}.{index}."))
    return found


@functools.lru_cache(maxsize=4096)
def _meant(model: type[BaseModel], name: str) -> tuple[str, str] | None:
    """(field, what to write instead) when ``name`` looks like a field of ``model``."""
    names, key = _names(model), _squash(name)
    for candidate in (key, *_number_forms(key)):
        if candidate in names.squashed:
            return names.squashed[candidate], repr(names.squashed[candidate])
    if key in names.values:
        field, value = names.values[key]
        return field, f'"{field}": "{value}"'
    close = [
        field
        for field in difflib.get_close_matches(name, names.spellings, n=3, cutoff=_CUTOFF)
        if abs(len(field) - len(name)) <= _MAX_LENGTH_GAP
    ]
    return (close[0], repr(close[0])) if close else None


@functools.cache
def _names(model: type[BaseModel]) -> _Names:
    spellings, values, nested = {}, {}, {}
    for attribute, info in model.model_fields.items():
        wire = info.alias or attribute
        spellings[wire] = frozenset({wire, attribute})
        values.update({_squash(v): (wire, v) for v in _literal_values(info.annotation)})
        inner = _nested_model(info.annotation)
        if inner is not None:
            nested[wire] = inner
    return _Names(
        spellings=spellings,
        known=frozenset().union(*spellings.values()),
        squashed={_squash(wire): wire for wire in spellings},
        values=values,
        nested=nested,
    )


def _squash(name: str) -> str:
    """``riskTier``, ``Risk-Tier`` and ``risk_tier`` all become ``risktier``."""
    return name.lower().replace("_", "").replace("-", "").replace(" ", "")


def _number_forms(key: str) -> list[str]:
    """The plural and singular forms ``key`` may be a slip for (``notice`` <-> ``notices``)."""
    forms = [key + "s", key + "es"]
    if key.endswith("y"):
        forms.append(key[:-1] + "ies")
    if key.endswith("ies"):
        forms.append(key[:-3] + "y")
    if key.endswith("es"):
        forms.append(key[:-2])
    if key.endswith("s"):
        forms.append(key[:-1])
    return forms


def _literal_values(annotation: Any) -> list[str]:
    """The string values of a ``Literal`` annotation (also inside ``X | None``)."""
    if get_origin(annotation) is Literal:
        return [v for v in get_args(annotation) if isinstance(v, str)]
    if _is_union(annotation):
        return [v for arg in get_args(annotation) for v in _literal_values(arg)]
    return []


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    """The model of a field holding an object, a list of objects, or either or ``None``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) is list or _is_union(annotation):
        found = [m for arg in get_args(annotation) if (m := _nested_model(arg)) is not None]
        return found[0] if found else None
    return None


def _is_union(annotation: Any) -> bool:
    return get_origin(annotation) in (Union, types.UnionType)
