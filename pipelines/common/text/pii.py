"""Masking of personal data in free text, before it reaches a model, a log or the vector store.

Card numbers (13-19 digits, optionally grouped, passing the Luhn check) keep only
their last four digits; e-mail addresses and phone numbers are replaced whole.
"""

from __future__ import annotations

import re

_PAN = re.compile(r"(?<![\d-])(?:\d[ -]?){12,18}\d(?![\d-])")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_PHONE = re.compile(r"(?<!\w)\+?\(?\d{1,4}\)?(?:[ .-]?\(?\d{2,4}\)?){2,5}(?!\w)")


def _luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _mask_pan(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group())
    if not 13 <= len(digits) <= 19 or not _luhn_ok(digits):
        return match.group()
    return f"[card ****{digits[-4:]}]"


def mask_pans(text: str) -> str:
    """Replace anything that looks like a card number with ``[card ****1234]``."""
    return _PAN.sub(_mask_pan, text)


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _mask_phone(match: re.Match[str]) -> str:
    text = match.group()
    digits = re.sub(r"\D", "", text)
    if not 7 <= len(digits) <= 15 or _ISO_DATE.fullmatch(text.strip()):
        return text
    return "[phone]"


def mask_pii(text: str) -> str:
    """Mask card numbers, then e-mail addresses, then phone numbers."""
    return _PHONE.sub(_mask_phone, _EMAIL.sub("[email]", mask_pans(text)))
