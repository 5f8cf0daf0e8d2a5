"""English questions, expanded with Chinese terms from a bilingual policy glossary.

The corpus is Chinese, so an English question shares no tokens with it: BM25 and
the lexical part of answer scoring see nothing. Appending the Chinese equivalents
of the glossary phrases a question contains lets them work; the dense encoder
still sees the question as asked.
"""

from __future__ import annotations

import re
from importlib.resources import files

_HAN = re.compile(r"[\u4e00-\u9fff]")


class Glossary:
    """English phrase → Chinese terms, matched longest phrase first.

    Args:
        entries: Lower-case English phrase → its Chinese terms.
    """

    def __init__(self, entries: dict[str, tuple[str, ...]]) -> None:
        self.entries = dict(entries)
        phrases = sorted(self.entries, key=len, reverse=True)
        alternatives = "|".join(re.escape(p) for p in phrases) or "(?!)"
        self._pattern = re.compile(rf"(?<![a-z0-9])({alternatives})(?![a-z0-9])")

    @classmethod
    def bundled(cls) -> Glossary:
        """The glossary shipped in ``qa/data/glossary.tsv``."""
        text = files("qa").joinpath("data/glossary.tsv").read_text(encoding="utf-8")
        entries: dict[str, tuple[str, ...]] = {}
        for line in text.splitlines():
            if not line.strip() or line.startswith("#"):
                continue
            english, _, chinese = line.partition("\t")
            terms = tuple(t for t in chinese.split("|") if t)
            if english.strip() and terms:
                entries[english.strip().lower()] = terms
        return cls(entries)

    def terms(self, question: str) -> list[str]:
        """The Chinese terms for the glossary phrases in ``question``, in order, once each."""
        found: list[str] = []
        for match in self._pattern.finditer(question.lower()):
            found += self.entries[match.group(1)]
        return list(dict.fromkeys(found))

    def expand(self, question: str) -> str:
        """``question`` plus the Chinese glossary terms, for a question that is not Chinese.

        A Chinese question (two or more Han characters) is returned unchanged.
        """
        if len(_HAN.findall(question)) >= 2:
            return question
        terms = self.terms(question)
        return f"{question} {' '.join(terms)}" if terms else question

