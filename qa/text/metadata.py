"""What a document says about itself: its date, issuer, document number, newspaper, editors.

Dates in Arabic or Chinese numerals (``二〇二五年一月十五日``), labelled fields (``发布日期：``),
the official-document furniture (公文: 文号, letterhead, signature) and newspaper bylines.
"""

from __future__ import annotations

import re

from qa.text.units import Unit

DATE_LINE = re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日\s*(?:(?:星期|周)[一二三四五六日天])?$")
# Official-document furniture (公文): 文号, letterhead, issuer signature, labelled fields.
DOC_NUMBER = re.compile(
    r"[\u4e00-\u9fff]{1,12}\s*[〔\[［【(（]\s*(?:19|20)\d{2}\s*[〕\]］】)）]\s*第?\d{1,5}\s*号"
)
LETTERHEAD = re.compile(r"^[\u4e00-\u9fff（）()、\s]{2,40}文件$")
_ISSUER = re.compile(
    r"(?:人民政府|政府|委员会|常委会|办公厅|办公室|领导小组|局|厅|部|署|院|委|办|中心|协会|"
    r"集团|公司|日报|晚报|报社|新闻网)$"
)
_ISSUER_TEXT = re.compile(r"^[\u4e00-\u9fff（）()、\s]{2,40}$")
_CN_DIGITS = {ch: i for i, ch in enumerate("〇一二三四五六七八九")}
_CN_DIGITS.update({"零": 0, "○": 0, "Ｏ": 0, "O": 0})
CN_DATE = re.compile(
    r"([〇零○ＯO一二三四五六七八九]{4})年([一二三四五六七八九十]{1,2})月([一二三四五六七八九十]{1,3})日"
)
_NUM_DATE = re.compile(r"((?:19|20)\d{2})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})(?!\d)")
_LABELS = {
    "number": re.compile(r"(?:发文字号|文\s*号)\s*[：:]\s*(\S+号)"),
    "issuer": re.compile(r"(?:发文机关|发布机构|发布单位|发文单位)\s*[：:]\s*([^\s：:]{2,40})"),
    "date": re.compile(
        r"(?:成文日期|发布日期|印发日期|发文日期|发布时间)\s*[：:]\s*(\S[^：:]{5,16})"
    ),
}


def is_issuer(text: str) -> bool:
    """Whether ``text`` reads as an issuing body (…人民政府, …委员会, …日报)."""
    return bool(_ISSUER_TEXT.match(text)) and bool(_ISSUER.search(text.replace(" ", "")))


def iso_date(text: str) -> str | None:
    """The first date in ``text`` as ``YYYY-MM-DD``, in Arabic or Chinese numerals.

    Example:
        >>> iso_date("二〇二五年一月十五日"), iso_date("发布日期：2022-09-21")
        ('2025-01-15', '2022-09-21')
    """
    match = _NUM_DATE.search(text)
    if match:
        y, m, d = map(int, match.groups())
    else:
        match = CN_DATE.search(text)
        if not match:
            return None
        y = int("".join(str(_CN_DIGITS[ch]) for ch in match.group(1)))
        m, d = _cn_number(match.group(2)), _cn_number(match.group(3))
    return f"{y:04d}-{m:02d}-{d:02d}" if 1 <= m <= 12 and 1 <= d <= 31 else None


def _cn_number(text: str) -> int:
    """一 … 三十一 as an int."""
    if "十" not in text:
        return _CN_DIGITS.get(text, 0)
    tens, _, ones = text.partition("十")
    return (_CN_DIGITS.get(tens, 0) if tens else 1) * 10 + (_CN_DIGITS.get(ones, 0) if ones else 0)


def metadata(units: list[Unit], title: str) -> dict[str, str]:
    """Date, issuer, document number, newspaper and editors stated in the text."""
    meta: dict[str, str] = {}
    labelled: dict[str, str] = {}
    for unit in units[:60]:
        for key, pattern in _LABELS.items():
            match = pattern.search(unit.text)
            if match and key not in labelled:
                labelled[key] = match.group(1)
    for unit in units:
        if unit.kind == "editor":
            meta.setdefault("editors", unit.text)
        paper = re.match(r"^[□■*\s]*([^/□\s*]{2,10}报)(?:/|\S*记者)", unit.text)
        if unit.kind == "byline" and paper and not paper.group(1).startswith("本报"):
            meta.setdefault("newspaper", paper.group(1))
    page_dates = [m for u in units if u.kind == "date" and (m := DATE_LINE.match(u.text))]
    dates = [iso_date(u.text) for u in units if u.kind == "date"]
    date = (
        "{:04d}-{:02d}-{:02d}".format(*map(int, page_dates[0].groups())) if page_dates
        else iso_date(labelled.get("date", "")) or next((d for d in dates if d), None)
    )
    if date:
        meta["date"] = date
    numbers = [u.text for u in units if u.kind == "meta" and DOC_NUMBER.fullmatch(u.text)]
    in_title = DOC_NUMBER.search(title)
    number = labelled.get("number") or (numbers[0] if numbers else None) or (
        in_title.group() if in_title else None)
    if number:
        meta["number"] = re.sub(r"\s+", "", number)
    signature = [u.text for u in units if u.kind == "meta" and u.style == "signature"]
    before_about = re.match(r"^(.{2,30}?)关于", title)
    issuer = labelled.get("issuer") or (signature[-1] if signature else None) or (
        before_about.group(1) if before_about and is_issuer(before_about.group(1)) else None
    ) or meta.get("newspaper")
    if issuer:
        meta["issuer"] = issuer.replace(" ", "")
    return meta
