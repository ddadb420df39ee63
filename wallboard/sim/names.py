"""Deterministic, varied agent names (no randomness: agent n is always called the same)."""

from __future__ import annotations

_FIRST = (
    "Amara", "Ben", "Chloé", "Dmitri", "Elif", "Farah", "Gareth", "Hana", "Ivan", "Jade", "Kofi", "Lena",
    "Mateo", "Nadia", "Owen", "Priya", "Quinn", "Rosa", "Samir", "Tess", "Umar", "Vera", "Wei", "Ximena",
    "Yusuf", "Zoe", "Aoife", "Bruno", "Carmen", "Dev", "Esther", "Felix", "Grace", "Hugo", "Ines", "Jonas",
    "Kirsten", "Luca", "Maya", "Niall",
)
_LAST = (
    "Adeyemi", "Bauer", "Costa", "Dubois", "Evans", "Fischer", "García", "Haddad", "Ito", "Jensen",
    "Kowalski", "Lindqvist", "Moreau", "Nowak", "O'Brien", "Patel", "Quintero", "Rossi", "Schmidt",
    "Tanaka", "Usman",
    "Varga", "Walsh", "Xu", "Yilmaz", "Zielinski", "Ahmed", "Byrne", "Chen", "Da Silva", "Eriksen",
)


def agent_name(n: int) -> str:
    first = _FIRST[n % len(_FIRST)]
    last = _LAST[(n // len(_FIRST) + n) % len(_LAST)]
    return f"{first} {last}"
