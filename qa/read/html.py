"""Web pages: the main text, headings as ``#`` headings, the page title and date."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from qa.read.docx import table_rows
from qa.read.formats import MAX_HTML_BYTES, Extracted, UnreadableError, decode_text
from qa.read.pdf import quiet

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_-]+)""", re.I)
_META_DATE_NAMES = ("pubdate", "publishdate", "firstpublishedtime", "article:published_time",
                    "dc.date", "dcterms.issued", "date")
_TITLE_SPLIT = re.compile(r"\s*[_|｜]\s*|\s+[-–—]\s+")
_NOISE = re.compile(r"(?:^|[\s_-])(?:nav|navbar|menu|breadcrumbs?|crumbs?|footer|header|sidebar|"
                    r"share|comments?|copyright|related|toolbar|pagination|topbar)(?:$|[\s_-])",
                    re.I)
_NOISE_TAGS = ("script", "style", "noscript", "nav", "header", "footer", "aside", "form",
               "iframe", "template", "svg", "button", "select")


# ------------------------------------------------------------------ HTML
def read_html(raw: bytes, path: Path) -> Extracted:
    """The main text of a web page, with its title.

    Navigation, headers, footers, sidebars, forms and scripts are removed first;
    trafilatura then picks the main content, whose headings become Markdown ``#``
    headings and whose tables become readable rows (see :func:`table_rows`).

    Raises:
        UnreadableError: For a page that cannot be decoded or has no main text.
    """
    try:
        import lxml.html
        import trafilatura
    except ImportError as exc:  # pragma: no cover - declared dependencies
        raise ImportError(
            f"Reading web pages needs trafilatura and lxml_html_clean ({exc}): "
            'pip install -e . (or: pip install trafilatura lxml_html_clean)'
        ) from exc
    if len(raw) > MAX_HTML_BYTES:
        raise UnreadableError(
            path, f"web page is {len(raw) / 2**20:.1f} MB, over the {MAX_HTML_BYTES // 2**20} MB "
            "limit for HTML"
        )
    html, encoding = _decode_html(raw, path)
    try:
        tree = lxml.html.document_fromstring(html)
    except Exception as exc:  # noqa: BLE001 - a parser of untrusted bytes may raise anything
        raise UnreadableError(path, f"unreadable HTML ({exc.__class__.__name__})") from None
    title = _page_title(tree)
    date = _meta_date(tree)
    _strip_noise(tree)
    cleaned = lxml.html.tostring(tree, encoding="unicode")
    with quiet("trafilatura"), quiet("htmldate"):
        xml = trafilatura.extract(
            cleaned, output_format="xml", include_tables=True, include_comments=False,
            include_links=False, include_images=False, include_formatting=False,
            favor_recall=True, deduplicate=False,
        )
    lines = _xml_lines(xml) if xml else []
    if not lines:  # too little for trafilatura: take the cleaned body's text, block by block
        body = tree.find("body")
        text = "\n".join(body.itertext()) if body is not None else ""
        lines = [ln for ln in (" ".join(t.split()) for t in text.splitlines()) if ln]
    if not any(re.sub(r"[#\s-]", "", ln) for ln in lines):
        raise UnreadableError(path, "web page has no main text; nothing to index")
    if title and not any(_same(title, ln.lstrip("# ")) for ln in lines[:3]):
        lines.insert(0, f"# {title}")
    text = "\n".join(lines)
    return Extracted(text, "html", encoding, (), title, date)


def _decode_html(raw: bytes, path: Path) -> tuple[str, str]:
    declared = _META_CHARSET.search(raw[:4096])
    if declared and not raw.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        name = declared.group(1).decode("ascii").lower()
        name = "gb18030" if name in ("gb2312", "gbk", "x-gbk") else name
        try:
            return raw.decode(name), name
        except (LookupError, UnicodeDecodeError):
            pass
    return decode_text(raw, path)


def _same(a: str, b: str) -> bool:
    squash = re.compile(r"\s+")
    a, b = squash.sub("", a), squash.sub("", b)
    return bool(a) and bool(b) and (a in b or b in a)


def _page_title(tree: Any) -> str | None:  # noqa: ANN401 - an lxml element
    """The ``<title>`` less a site name after ``_``, ``|`` or `` - ``; else the first ``<h1>``."""
    node = tree.find(".//title")
    raw = " ".join(node.text_content().split()) if node is not None else ""
    parts = [p for p in _TITLE_SPLIT.split(raw) if p.strip()]
    if parts:  # the page's own title comes first; a very short first part is a site name
        return parts[0] if len(parts[0]) >= 6 or len(parts) == 1 else max(parts, key=len)
    h1 = tree.find(".//h1")
    text = " ".join(h1.text_content().split()) if h1 is not None else ""
    return text or None


def _meta_date(tree: Any) -> str | None:  # noqa: ANN401 - an lxml element
    for meta in tree.iter("meta"):
        name = (meta.get("name") or meta.get("property") or "").lower()
        if name in _META_DATE_NAMES:
            content = meta.get("content") or ""
            match = re.match(r"\s*(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})", content)
            if match:
                y, m, d = map(int, match.groups())
                if 1 <= m <= 12 and 1 <= d <= 31:
                    return f"{y:04d}-{m:02d}-{d:02d}"
    return None


def _strip_noise(tree: Any) -> None:  # noqa: ANN401 - an lxml element
    """Remove navigation, page chrome and scripts before the main text is picked."""
    doomed = [el for el in tree.iter() if isinstance(el.tag, str) and (
        el.tag in _NOISE_TAGS
        or (el.get("role") or "") in ("navigation", "banner", "contentinfo", "search")
        or (el.tag not in ("html", "body", "main", "article")
            and _NOISE.search(f"{el.get('class') or ''} {el.get('id') or ''}"))
    )]
    for el in doomed:
        if el.getparent() is not None:
            el.drop_tree()


def _xml_lines(xml: str) -> list[str]:
    """Lines of trafilatura's XML: ``#`` headings, ``- `` items, readable table rows."""
    from lxml import etree

    root = etree.fromstring(xml.encode("utf-8"))
    main = root.find("main")
    lines: list[str] = []

    def text_of(el: Any) -> str:  # noqa: ANN401 - an lxml element
        return " ".join("".join(el.itertext()).split())

    def walk(el: Any) -> None:  # noqa: ANN401 - an lxml element
        for child in el:
            if child.tag == "head":
                level = re.sub(r"\D", "", child.get("rend") or "") or "2"
                lines.append(f"{'#' * min(int(level), 6)} {text_of(child)}")
            elif child.tag == "list":
                lines.extend(f"- {text_of(item)}" for item in child.iter("item"))
            elif child.tag == "table":
                lines.extend(table_rows([[text_of(c) for c in row.iter("cell")]
                                         for row in child.iter("row")]))
            elif child.tag in ("div", "section", "main", "article"):
                walk(child)
            else:
                lines.append(text_of(child))

    if main is not None:
        walk(main)
    return [ln for ln in lines if ln.strip("-# ")]
