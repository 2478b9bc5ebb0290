"""Distances on the Earth's surface, for judging whether a card could have travelled."""

from __future__ import annotations

from math import asin, cos, radians, sin, sqrt

EARTH_RADIUS_KM = 6371.0088
"""Mean Earth radius (IUGG): the sphere that best fits the ellipsoid on average."""


def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Shortest distance over the Earth's surface between two points, in km.

    Haversine formula: numerically stable for the short hops (same city) that
    dominate card activity, where the spherical law of cosines loses precision.
    """
    phi1, phi2 = radians(lat1), radians(lat2)
    half_dphi = (phi2 - phi1) / 2
    half_dlambda = radians(lon2 - lon1) / 2
    h = sin(half_dphi) ** 2 + cos(phi1) * cos(phi2) * sin(half_dlambda) ** 2
    return 2 * EARTH_RADIUS_KM * asin(min(1.0, sqrt(h)))
