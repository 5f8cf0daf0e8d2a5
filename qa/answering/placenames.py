"""The bundled place names: Chinese provinces, cities and countries, and their English names.

``qa/data/places.txt`` (provinces and major cities) and ``qa/data/countries.txt`` are data,
not rules: Chinese names separated by whitespace, English ones as ``English=中文`` separated
by tabs (multi-word names keep their spaces); lines starting with ``#`` are comments.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

_FILES = ("places.txt", "countries.txt")


@cache
def _entries(name: str) -> tuple[str, ...]:
    text = files("qa").joinpath(f"data/{name}").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    return tuple(w.strip() for line in lines
                 for w in (line.split("\t") if "=" in line else line.split()) if w.strip())


def load_places() -> list[str]:
    """Every bundled place name, Chinese and English (places, then countries)."""
    return [w.split("=", 1)[0] for name in _FILES for w in _entries(name)]


def english_places() -> dict[str, str]:
    """The bundled English place names with the Chinese name each stands for."""
    return dict(w.split("=", 1) for name in _FILES for w in _entries(name) if "=" in w)


@cache
def country_names() -> tuple[str, ...]:
    """The Chinese names of the bundled countries (美国, 俄罗斯, …)."""
    return tuple(w for w in _entries("countries.txt") if "=" not in w)
