"""What a question asks for, and what an answer of that kind looks like.

The question's wording gives its kind (多少 → a number with its unit, 哪个区 → a place,
什么时候 → a date, 哪些 → a list, 谁 → a name, …); :func:`cue_score` says whether a text
holds a value of that kind. Shared by the answerer, its constraint checks and the span finder.
"""

from __future__ import annotations

import re
from functools import lru_cache

_NUMBER_Q = re.compile(
    r"多少|几[个家项年条类大种]|几|比重|比例|占比|规模|目标|增长|达到|多大|数量|金额"
    r"|多久|多长时间|多长|how (many|much|long)|\brank(?:ed|s)?\b"
    r"|which (?:session|edition|round|batch)\b"
    r"|what (percentage|share|proportion|number|amount"
    r"|target)|number of"
    r"|how large|how big|what (?:[\w-]+ ){0,5}(?:scale|size|target|value|output|revenue|capacity"
    r"|investment|growth rate|rate|amount|total)\b",
    re.I,
)
_PLACE_Q = re.compile(
    r"哪里|哪儿|何处|什么地方|哪个地方|在哪(?![一二两三四五六七八九十几])"
    r"|哪(?:个|些|[两三四五]个)?(?:区|市|县|镇|乡|村|街道|省|国家|城市|园区)(?![级场委])"
    r"|where(?!.*\brank)|which (?:\w+ )?(?:district|city|cities|area|region|park|zone|town"
    r"|township|county|counties|province|country|countries|street|village)s?\b(?!-)"
    # "which Laoshan District center": the place names whose centre, office or company it is
    r"(?! (?:cent(?:er|re)|office|bureau|government|committee|company|institute|authority"
    r"|department|association|enterprise))",
    re.I,
)
_DATE_Q = re.compile(
    r"什么时候|何时|哪[一几]?年|哪天|几月|日期|when|which year|what year|what date", re.I
)
# Units a figure is counted in (longest first, so 万吨 wins over 万); the span finder's too.
UNITS = sorted(
    (
        "%", "％", "‰", "个百分点", "百分点", "亿美元", "万美元", "美元", "亿元", "万元",
        "千元", "元",
        "万亿", "千亿", "百亿", "亿", "万", "千", "个", "家", "项", "人次", "万人次", "万人", "人",
        "名", "位", "户", "万户", "吨", "万吨", "公斤", "千克", "公里", "千米", "米", "平方公里",
        "平方米", "万平方米", "亩", "万亩", "公顷", "千升", "升", "倍", "场", "条", "台", "万台",
        "套", "辆", "万辆", "艘", "架", "架次", "座", "所", "张", "件", "万件", "批", "期", "类",
        "种", "大", "款", "GW", "MW", "GWh", "kW", "千瓦", "万千瓦", "兆瓦", "吉瓦", "千瓦时",
        "度", "P", "PFLOPS", "EFLOPS", "TEU", "标准箱", "万标准箱", "年", "天", "小时", "周",
        "个月", "届", "次", "首", "部", "支", "颗", "片", "项次", "强", "星", "级", "起", "处",
        "章", "节",
    ),
    key=len,
    reverse=True,
)
UNIT = "|".join(re.escape(u) for u in UNITS)  # one regex alternative per unit
# "3000 余个", "30多名": an approximate figure holds 余/多 before its unit. A year (2025年)
# is a date, not a figure, as the span finder has it.
_NUMBER_A = re.compile(rf"(?<![\d.])(?!(?:19|20)\d\d\s*年)\d+(\.\d+)?\s*[余多]?\s*(?:{UNIT})")
_PLACE_A = re.compile(r"[\u4e00-\u9fff]{2,6}(新区|区|市|县|镇|园区|产业园|基地|开发区|园)")
_DATE_A = re.compile(r"\d{4}\s*年|\d{1,2}\s*月\s*\d{1,2}\s*日|\d{4}[—\-–]\d{4}")
_PERSON_Q = re.compile(r"谁|哪位|哪名|什么人|姓名|who|which (reporter|official|person)",
                       re.I)
_LIST_Q = re.compile(r"哪些|哪几|分别是|包括什么|有哪|哪两|哪三|哪四|哪五|哪六|哪七|哪八"
                     r"|which (ones|industries|segments|companies|sectors|areas|fields)|list", re.I)
_NAME_Q = re.compile(r"叫什么|什么名字|名称是|称为什么|称作什么|叫做什么|命名为"
                     r"|what is (?:it|this|the \w+(?: \w+){0,4}) called|what (?:is|was) the name",
                     re.I)
_NAME_A = re.compile(r"[“《「\"][^”》」\"]{2,20}[”》」\"]")
_TITLE_Q = re.compile(r"什么职务|何职|什么职位|担任什么|任什么|什么头衔|what (position|post|title)"
                      r"|which (position|post)", re.I)
_ORG_Q = re.compile(
    r"哪家(?!.*哪些)|哪所|哪个[\u4e00-\u9fff]{0,3}?(?:企业|公司|机构|单位|平台|研究院|大学|高校|部门|集团"
    r"|银行|工作专班|专班|工作组|中心|实验室|品牌)"
    r"|什么(?:企业|公司|机构|单位|平台|研究院|部门)"
    r"|which (?:[\w'-]+ ){0,3}?(?:company|companies|firm|subsidiary|subsidiaries|maker|producer"
    r"|supplier|shipyard|carmaker|automaker|brewer|brewery|university|institute|institution"
    r"|organi[sz]ation|platform|agency|authority|office|bureau|department|enterprise|group"
    r"|bank|college|school|center|centre|factory|plant|manufacturer|brand|commission"
    r"|ministry|administration|working group|task force|programme|program|campaign"
    r"|initiative)\b",
    re.I,
)
_ORG_A = re.compile(
    r"[\u4e00-\u9fff]{2,12}(大学|学院|公司|集团|研究院|研究所|中心|实验室|平台|银行)"
)
# Posts a name follows in Chinese (记者 杨光, 副市长耿涛, 主编 赵波): the title comes first.
JOB_TITLES = (
    "记者|通讯员|市长|副市长|局长|副局长|主任|书记|副书记|董事长|总经理|院长|校长|负责人|"
    "区长|主席|部长|处长|总裁|常委|委员|主任委员|理事长|秘书长|经理|会长|厅长|组长|博士|"
    "主编|副主编|总编辑|编辑|责编|美编|审读|排版|校对"
)
_PERSON_A = re.compile(rf"(?:{JOB_TITLES})\s*[\u4e00-\u9fff]{{2,3}}"
                       r"|[\u4e00-\u9fff]{2,3}(表示|介绍|说)")
# A name in title marks (《…规划和2035年远景目标纲要》): its numbers and years count nothing.
TITLED = re.compile(r"《[^》\n]{1,80}》")
MARKUP = re.compile(r"</?[a-zA-Z][^>]*>|\*\*")
_TRAILING_MARKUP = re.compile(r"(?:</?[a-zA-Z][^>]*>|\*\*)$")
YEAR = re.compile(r"(?<!\d)(19|20)\d{2}(?!\d)")

# Specific units a question may ask for ("多少万辆"); common ones (个, 家, 亿元) are left out
# because documents count the same thing in several ways (32条 for 32个).
UNIT_Q = re.compile(
    r"多少(亿美元|万美元|美元|人次|万标准箱|标准箱|万辆|万吨|千升|平方米|公里|万台|艘|架次)"
)
MULTI_PART = re.compile(r"分别|各是|各为|各自|各有多少|respectively|and (what|how)", re.I)
_ANSWER_PATTERNS = {"number": _NUMBER_A, "place": _PLACE_A, "date": _DATE_A, "person": _PERSON_A,
                    "title": _PERSON_A, "org": _ORG_A, "name": _NAME_A}
# Units a figure must be counted in when the question asks "多少<unit>"; 个 and its kin are
# left out, since documents count the same things as 个, 项, 条 or 类.
_UNIT_CLASSES = (
    (re.compile(r"(?:多少|几)(?:名|位|人)"), ("名", "人", "位", "人次", "万人", "万人次")),
    (re.compile(r"(?:多少|几)家"), ("家", "户", "所")),
    # chapters and sections of a law or plan are counted in nothing else
    (re.compile(r"(?:多少|几)(?:章|节)"), ("章", "节")),
    (re.compile(r"多少(?:亿|万)?元|多少钱|多少(?:亿|万)美元"),
     ("元", "亿", "万亿", "千亿", "百亿", "美元")),
    # a share: a percentage, not the amount it is a share of
    (re.compile(r"what percentage|by what percent|百分之(?:多少|几)", re.I),
     ("%", "％", "个百分点", "百分点")),
    # how long: a length of time (8个月), not a count (30余名)
    (re.compile(r"多久|多长时间|how long", re.I), ("个月", "年", "天", "日", "小时", "周", "分钟")),
)
_BYLINE = re.compile(r"\s*[□■]\s*[^。\n]{0,40}?(?:报道|\n|(?=本报))")


def stated_figures(question: str) -> list[str]:
    """The figures a question states (收入增长超过30%的品牌), folded; years are not figures."""
    return list(dict.fromkeys(fold(m.group()) for m in _NUMBER_A.finditer(question)))


def fold(text: str) -> str:
    """``text`` without whitespace, lower-cased (how answer checks compare text)."""
    return re.sub(r"\s+", "", text).lower()


def question_kind(question: str) -> str:
    """What ``question`` asks for, from its wording.

    One of ``date``, ``place``, ``title``, ``name``, ``person``, ``org``, ``list``,
    ``number`` or ``other``.
    """
    for kind, pattern in (
        ("date", _DATE_Q), ("place", _PLACE_Q), ("title", _TITLE_Q), ("name", _NAME_Q),
        ("person", _PERSON_Q),
        ("org", _ORG_Q), ("list", _LIST_Q), ("number", _NUMBER_Q),
    ):
        if pattern.search(question):
            return kind
    return "other"


def cue_score(kind: str, text: str, question: str = "") -> float:
    """1 when ``text`` holds what a question of ``kind`` asks for, else 0.

    A number or place already in the question does not count: the answer must add to it.
    """
    if kind == "list":
        return 1.0 if text.count("、") >= 2 else 0.0
    pattern = _ANSWER_PATTERNS.get(kind)
    if pattern is None:
        return 0.0
    asked = fold(question)
    # 多少钱 is not answered by 242个: the figure must be in the unit asked, when one is.
    units = unit_class(question) if kind == "number" else ()
    return 1.0 if any(fold(m.group()) not in asked
                      and (not units or m.group().rstrip().endswith(units))
                      for m in pattern.finditer(text)) else 0.0




@lru_cache(maxsize=1024)
def unit_class(question: str) -> tuple[str, ...]:
    """The units a figure must end in to answer ``question`` (empty: any).

    Cached: the question-type cue asks it once for every candidate window.
    """
    for pattern, units in _UNIT_CLASSES:
        if pattern.search(question):
            return units
    return ()


def skip_byline(text: str, start: int, end: int, question: str) -> int:
    """Start after a leading reporter's byline (``□ 记者 … 报道``) unless the question asks it."""
    if "记者" in question or "报道" in question or "reporter" in question.lower():
        return start
    m = _BYLINE.match(text, start, end)
    return trim(text, m.end(), end)[0] if m and m.end() < end else start


def trim(text: str, start: int, end: int) -> tuple[int, int]:
    """Shrink a span to drop surrounding whitespace, list bullets and markup (``<p>``, ``**``)."""
    while True:
        before = (start, end)
        while start < end and (text[start].isspace() or text[start] in "-●•·*\t"):
            start += 1
        while end > start and (text[end - 1].isspace() or text[end - 1] == "*"):
            end -= 1
        head = MARKUP.match(text, start, end)
        if head:
            start = head.end()
        tail = _TRAILING_MARKUP.search(text, start, end)
        if tail:
            end = tail.start()
        if (start, end) == before:
            return start, end
