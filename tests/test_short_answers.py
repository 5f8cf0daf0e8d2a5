"""Short answers, their offsets, and every kind of abstention, on a made-up corpus.

The documents below are invented (a city, its districts, a company), so nothing here can
pass by knowing the seeds: each test exercises a rule of the answerer for the language in
general. Built once per module with the bundled encoder.
"""

from __future__ import annotations

from pathlib import Path

import pytest

PLAN = """示例市智能制造发展规划（2023—2027年）

一、发展目标
到2025年，示例市智能制造产业规模达到800亿元，培育智能工厂30家。到2027年，智能制造产业规模突破1200亿元，工业软件收入达到150亿元。

二、产业布局
工业软件布局在东湖区、北山区，工业机器人布局在南港新区，智能传感器布局在东湖区。

三、重点项目
星海重工智能装备产业园项目一期投资15亿元，建成后年产工业机器人2万台；二期计划于2026年开工。星海重工是本地龙头企业，主要生产工业机器人和数控机床。

四、人才保障
示例市将实施“英才计划”，到2025年引进高层次人才500名。

五、新材料产业
新材料产业重点发展石墨烯、碳纤维、液态金属等细分赛道，力争到2027年，新材料产业规模达到300亿元。石墨烯布局在北山区。
"""

NEWS = """示例日报 2024年6月1日

星海重工发布新一代协作机器人
□ 记者 王明 报道
5月30日，星海重工在东湖区发布新一代协作机器人，每台售价12万元。东湖区已完成 3000余个充电桩建设。
"""


# A newspaper page as the seeds' are laid out: date, the page's editors, headline, byline.
PAGE = """2024年7月8日 星期一

主编 周海 美编 陈静 审读 刘洋 排版 孙丽

示例港集装箱吞吐量创新高

□示例日报记者 赵磊

上半年，示例港完成集装箱吞吐量1500万标准箱，同比增长8%。
"""


# Figures as written: grades, ranks, magnitudes with their measure word, counts in 起/处,
# and a list of counts each glued to what it counts.
PORT = """样本县港航发展公报（2024年）

一、港口建设
样本县新建5000吨级泊位两个，港口吞吐量在全省排名第3位。

二、人才队伍
样本县择优引进50名航运专家、300名船舶管理人才、2万名港口技能工人。

三、安全治理
全年查处违规运输案件126起，整改码头隐患点48处。
"""


# A county bulletin: a town's name jieba reads as a person's, an authority without a
# company suffix, a figure of where things stand, a project's phases.
TOWN = """样本县乡村振兴简报（2024年）

一、项目建设
星河陆上循环养殖园区建在大柳镇，园区一期总投资2.5亿元，产品主要销往上海。园区从开工到首批出鱼仅用了8个月。县里的产业目录每两年更新发布一次。

二、数据发布
日前，东营海关发布数据，全县出口值达到120亿元，出口规模在全省各县中居第7位。优创（东营）数据技术有限公司承担了全县数据平台建设。全县规划由农业农村工作专班编制。

从产业类别看，农机装备、食品加工、文旅融合等3类项目数量最多，分别为9个、7个、5个，总投资分别为12.5亿元、8.6亿元、4.1亿元。2024年全县对韩国、日本、东盟等市场出口分别增长6.1%、4.2%、9.8%。全县年货大集在东营金茂湾购物中心举行。全县拥有国内最大的座底式海洋钻井平台。县里对高端冰吧酒柜生产线实施增产提效，推进智慧渔业养殖工船项目等。全县每年实施重点技改项目20项左右、数字化改造项目200项左右，打造3个以上省级示范工厂及30个以上数字化车间。

三、数字化
截至今年3月，全县生产设备数字化率达到48.5%。全县累计培育省级专精特新企业25家。到2026年，全县培育智能工厂10家，制造业增加值占地区生产总值比重达到35%。

四、人才活动
样本县设立“人才贷”风险补偿金，为高层次人才创办企业提供贷款贴息补贴。

□ 记者 李青 报道
1月16日，样本县人社局举办2025年高校学子看家乡暨寒假专题研修营活动，旨在为样本县籍学子搭建了解家乡发展的平台。本次活动设置了座谈会、企业参观等多个环节，吸引了40余名样本县籍在校大学生加入。
"""


# A district's plan: a document title holding a year, a scope word beside districts, a
# company known by its trade (大东科技), a person named without a post, green energy.
GREEN = """样本区绿色能源发展规划

一、编制依据
依据《样本区国民经济和社会发展第十四个五年规划和2040年远景目标纲要》，特制定本规划。样本区按照全区统筹原则，推动储能装备产业集聚发展。

二、发展目标
绿色能源产业聚焦风电、光伏、储能等方向，力争到2027年，样本区绿色能源产业规模达到500亿元，东湖区、北山区各建成一个储能基地。

三、重点企业
依托东华集团、海佳机械等，提升纺织设备的智能化水平；依托大东科技，推动数控机床向高精度发展。

四、项目进展
赵刚表示，样本区太阳能光伏园区将于明年扩建。光伏园区项目从动工起吸引了30余名技术人员参与建设。此后并网发电共用了14个月。

五、创新平台
样本区加快建设国家高速列车技术创新中心，推动成果转化。东湖影城为影视内容制作集聚核心区。2024年样本区绿色能源产业营业收入达120亿元，同比增长6.5%。到2026年，样本区工业互联网平台普及率达到45%。
"""


@pytest.fixture(scope="module")
def made_up(tmp_path_factory: pytest.TempPathFactory):
    from qa import QA

    root = tmp_path_factory.mktemp("madeup")
    corpus = root / "corpus"
    corpus.mkdir()
    (corpus / "plan.txt").write_text(PLAN, encoding="utf-8")
    (corpus / "news.txt").write_text(NEWS, encoding="utf-8")
    (corpus / "page.txt").write_text(PAGE, encoding="utf-8")
    (corpus / "port.txt").write_text(PORT, encoding="utf-8")
    (corpus / "town.txt").write_text(TOWN, encoding="utf-8")
    (corpus / "green.txt").write_text(GREEN, encoding="utf-8")
    return QA.build(corpus, root / "index", progress=False), corpus


def source_of(qa, hit) -> str:
    return qa.source_text(hit.doc)


def check_offsets(qa, answer):
    """The span is the source's own characters, inside the cited sentence."""
    first = answer.citations[0]
    source = source_of(qa, first)
    assert source[answer.span_start : answer.span_end] == answer.span
    assert first.start <= answer.span_start < answer.span_end <= first.end
    a, b = first.highlight
    x, y = first.span
    assert a <= x < y <= b
    assert "".join(first.text[x:y].split()) == "".join(answer.span.split())


@pytest.mark.parametrize(
    ("question", "span"),
    [
        ("到2025年示例市智能制造产业规模达到多少？", "800亿元"),
        # several figures of one unit in the sentence: the one whose clause is asked
        ("到2027年示例市工业软件收入目标是多少？", "150亿元"),
        ("到2025年示例市要培育多少家智能工厂？", "30家"),
        ("工业机器人布局在哪个区？", "南港新区"),
        ("工业软件布局在哪些区？", "东湖区、北山区"),
        ("星海重工的新一代协作机器人是哪天发布的？", "5月30日"),
        ("示例市引进高层次人才的计划叫什么？", "英才计划"),
        ("Which district hosts industrial robots?", "南港新区"),
        ("到2027年示例市新材料产业规模达到多少？", "300亿元"),
        # the page's editors are searchable; the name is the one after the post asked
        ("刊登示例港集装箱吞吐量报道的这一版，美编是谁？", "陈静"),
        ("示例港集装箱吞吐量那一版的排版是谁？", "孙丽"),
        # glossed "editor in chief"
        ("Who was the chief editor of the page on the port's container throughput?", "周海"),
        # a name under other posts (the editors') does not answer for the reporter
        ("报道示例港集装箱吞吐量的记者是谁？", "赵磊"),
        # an approximate figure (余, 多) is a figure
        ("东湖区已建成多少个充电桩？", "3000余个"),
        # a figure as written: its grade, its ordinal, its measure word after 万, 起 and 处
        ("样本县新建的泊位是多少吨级的？", "5000吨级"),
        ("样本县港口吞吐量在全省排第几位？", "第3位"),
        ("样本县要引进多少名港口技能工人？", "2万名"),
        ("样本县全年查处违规运输案件多少起？", "126起"),
        ("样本县整改了多少处码头隐患点？", "48处"),
        # a count glued to a noun counts that noun, not the one before it
        ("样本县择优引进多少名船舶管理人才？", "300名"),
        # a town (jieba tags its name as a person's), not the city the produce goes to
        ("星河陆上循环养殖园区建在哪个镇？", "大柳镇"),
        # a figure after a sentence whose only numbers are dates and years
        ("样本县寒假专题研修营吸引了多少名样本县籍在校大学生？", "40余名"),
        # how long, and how often
        ("星河园区从开工到首批出鱼用了多久？", "8个月"),
        ("样本县的产业目录多久更新发布一次？", "每两年"),
        # an organisation without a company suffix
        ("哪个机构发布了样本县的出口数据？", "东营海关"),
        ("Which authority released the county's export data?", "东营海关"),
        # a company name with a place in brackets, whole
        ("哪家公司承担了全县数据平台建设？", "优创（东营）数据技术有限公司"),
        # items paired with figures in order: the list named in the clause before 分别, a
        # second list of figures for the same items, the list's head and tail not items
        ("样本县文旅融合类项目有多少个？", "5个"),
        ("样本县食品加工类项目总投资是多少？", "8.6亿元"),
        ("2024年样本县对日本出口增长多少？", "4.2%"),
        # a count's qualifier (左右, 以上) is not what it counts; the noun after it is
        ("样本县每年实施多少项数字化改造项目？", "200项"),
        ("样本县要打造几个省级示范工厂？", "3个"),
        # a venue after a place name is part of it
        ("样本县年货大集在哪里举行？", "东营金茂湾购物中心"),
        # a name with the type word it is asked by, without a trailing 等
        ("样本县全县拥有国内最大的什么钻井平台？", "座底式海洋钻井平台"),
        ("样本县县里对哪条生产线实施增产提效？", "高端冰吧酒柜生产线"),
        # a working group, and a programme, by their type words
        ("样本县的规划由哪个工作专班编制？", "农业农村工作专班"),
        # a company known by its trade (科技), in the clause of what is asked
        ("样本区数控机床发展依托哪家企业？", "大东科技"),
        # 太阳 is tagged a place by jieba, but a question is not about it as about a city
        ("到2027年，样本区靠风和太阳发电的绿色能源产业规模达到多少？", "500亿元"),
        # A为B, where B restates the question: A
        ("哪个基地被定为影视内容制作集聚核心区？", "东湖影城"),
        # "by what percentage": a share, not the amount beside it
        ("By what percentage did the district's green energy revenue grow in 2024?", "6.5%"),
        # how long: a length of time, not the count beside it
        ("样本区光伏园区项目从动工到并网花了多久？", "14个月"),
        # a word jieba reads as an adverb (高速) inside an organisation's name
        ("样本区加快建设哪个创新中心？", "国家高速列车技术创新中心"),
        # "what <several words> rate" asks for a figure
        ("What industrial internet platform penetration rate does the district aim to reach "
         "by 2026?", "45%"),
        # "where … rank" asks for a rank, not a place
        ("Where did the county's exports rank among the counties of the province?", "第7位"),
    ],
)
def test_short_answer_span(made_up, question, span):
    qa, _ = made_up
    answer = qa.ask(question)
    assert not answer.abstained, answer.reason
    assert answer.span == span
    assert span in answer.text
    check_offsets(qa, answer)


def test_the_supporting_sentence_drops_the_byline(made_up):
    qa, _ = made_up
    answer = qa.ask("星海重工的协作机器人每台售价多少？")
    assert answer.span == "12万元"
    assert not answer.text.startswith("□") and "记者" not in answer.text


@pytest.mark.parametrize(
    ("question", "why"),
    [
        # a figure for what the corpus names without one
        ("示例市智能工厂的投资额是多少？", ""),
        # a year the corpus gives no figure for
        ("到2026年示例市智能制造产业规模达到多少？", "2026"),
        # a project phase with no figure
        ("星海重工智能装备产业园项目二期投资多少？", "二期"),
        # a district the corpus never pairs with that industry
        ("北山区工业机器人布局了哪些项目？", "北山区"),
        # a company figure the corpus does not state
        ("星海重工2024年营业收入是多少？", ""),
        ("星海重工有多少名员工？", ""),
        # a place mentioned elsewhere, asked with a figure that belongs to the city
        ("南港新区智能制造产业规模目标是多少？", "南港新区"),
        # somewhere the corpus never mentions
        ("烟台市智能制造产业规模目标是多少？", "烟台"),
        # a segment the passage only lists: the figure is its industry's
        ("到2027年示例市碳纤维产业规模目标是多少？", "碳纤维"),
        # where a segment is laid out, answered by a sentence on another segment's place
        ("液态金属这个细分赛道布局在哪个区？", "液态"),
        # the same in English: the checks see the Chinese terms it was translated to
        ("What output target has the city set for its carbon fiber segment by 2027?", "列举"),
        # a figure asked in English ("what is the size of"), where the passage gives none
        ("What is the size of the county's risk compensation fund for talent loans?", "figure"),
        # the figure is a share of what is asked, not what is asked
        ("到2026年样本县地区生产总值目标是多少？", "比重"),
        # a goal asked, where the corpus reports only where things stand
        ("样本县生产设备数字化率的目标是多少？", "现状"),
        ("到2026年样本县省级专精特新企业的目标数量是多少家？", "现状"),
        # a phase asked in English that the passage gives no figure for
        ("What is the total investment of phase II of the aquaculture park?", "二期"),
        ("How much will the second phase of the aquaculture park cost?", "二期"),
        # a year only in a document's title (《…2040年远景目标纲要》) gives no figure for it,
        # and the numbers of a title (第十四个, 五年) are no figures
        ("What output value does the district target for 2040?", "2040"),
        ("样本区国民经济和社会发展规划的产值是多少？", "数字"),
        # a scope (全区) is not the district asked for
        ("储能装备产业布局在哪个区？", "地点"),
        # a post asked of someone the corpus names without one
        ("赵刚在样本区担任什么职务？", "职务"),
        # a country the corpus never mentions, in English
        ("What is Germany's target for green energy output?", "Germany"),
    ],
)
def test_near_miss_questions_abstain(made_up, question, why):
    qa, _ = made_up
    answer = qa.ask(question)
    assert answer.abstained, (answer.span, answer.text)
    assert answer.span == "" and answer.span_start == -1
    assert answer.reason and why in answer.reason


def test_a_filter_that_excludes_the_evidence_abstains(made_up):
    qa, _ = made_up
    assert qa.ask("工业机器人布局在哪个区？", doc="plan").span == "南港新区"
    answer = qa.ask("工业机器人布局在哪个区？", doc="news")
    assert answer.abstained and {h.doc for h in answer.citations} == {"news"}


def test_two_part_question_answers_both_parts_with_citations(made_up):
    qa, _ = made_up
    answer = qa.ask("到2025年，示例市智能制造产业规模和智能工厂分别要达到多少？")
    assert not answer.abstained
    assert [p.span for p in answer.parts] == ["800亿元", "30家"]
    assert answer.span == "800亿元；30家" and answer.span_start == -1
    for part in answer.parts:
        check_offsets(qa, part)
        assert part.citations[0].chunk_id in {h.chunk_id for h in answer.citations}


def test_two_part_question_says_which_part_has_no_support(made_up):
    qa, _ = made_up
    answer = qa.ask("星海重工智能装备产业园项目一期和二期分别投资多少？")
    assert not answer.abstained
    first, second = answer.parts
    assert first.span == "15亿元" and not first.abstained
    assert second.abstained and "二期" in answer.reason
    assert answer.span == "15亿元"
    check_offsets(qa, answer)


def test_json_output_carries_span_and_offsets(made_up):
    from qa.cli import main

    qa, _ = made_up
    import contextlib
    import io
    import json

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["ask", "工业机器人布局在哪个区？", "--index", str(qa.directory), "--json"])
    assert code == 0
    data = json.loads(out.getvalue())
    assert data["span"] == "南港新区" and data["span_end"] - data["span_start"] == 4


def test_cli_prints_the_span_then_the_sentence(made_up, capsys):
    from qa.cli import main

    qa, _ = made_up
    assert main(["ask", "工业机器人布局在哪个区？", "--index", str(qa.directory)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "答：南港新区 [1]"
    assert lines[1].startswith("依据") and "工业机器人布局在南港新区" in lines[1]
    assert "**南港新区**" in "".join(lines)


def test_span_offsets_hold_on_the_seeds(seed_qa):
    """Every answered question's span is the seed file's own slice."""
    seeds = Path(__file__).resolve().parent.parent / "seeds"
    questions = ["哪个区布局磁存储芯片？", "到2027年，青岛新一代信息技术产业规模力争达到多少？",
                 "青島智能家電產業到2027年的規模目標是多少？",
                 "What computing power scale does Qingdao plan to have built by 2025?",
                 "2024年青岛市进出口总值是多少？"]
    for question in questions:
        answer = seed_qa.ask(question)
        assert not answer.abstained, question
        source = (seeds / answer.citations[0].path).read_text(encoding="utf-8")
        assert source[answer.span_start : answer.span_end] == answer.span, question
        assert len(answer.span) <= 20, answer.span


def test_english_place_names_are_words_and_stand_for_their_chinese_names(made_up):
    """Xian is not in Xianda; Shanghai is known as 上海; Yantai the corpus never names."""
    qa, _ = made_up
    checks = qa._answerer._checks
    assert checks.unknown_anchor("Which town hosts the Xianda aquaculture park?") is None
    assert checks.unknown_anchor("How much of the county's produce goes to Shanghai?") is None
    assert checks.unknown_anchor("What is Yantai's export value?") == "Yantai"
    answer = qa.ask("What is Yantai's export value?")
    assert answer.abstained and "Yantai" in answer.reason



@pytest.mark.parametrize(
    "question",
    ["Which Hisense subsidiary ranks sixth in the world for optical modules?",
     "Which maker delivered the first diesel engine?", "哪家企业牵头数控机床？"],
)
def test_company_questions_ask_for_an_organisation(question):
    from qa.answering.kinds import question_kind

    assert question_kind(question.lower()) == "org"


def test_which_session_asks_for_an_ordinal():
    from qa.answering.kinds import question_kind

    assert question_kind("which session of the press-conference series was it?") == "number"


@pytest.mark.parametrize(
    ("question", "span"),
    [
        # 哪个园区: 园区 names what kind of thing the answer is; the sentence names the park
        # (以美锦氢能科技园为核心) and need not say 园区
        ("西海岸新区布局氢能产业生态链，是以哪个园区为核心的？", "美锦氢能科技园"),
        # counted in chapters: not the sentence sharing the question's words (12场, 300家次)
        # but the next one of the passage, which has a figure in 章
        ("《青岛市中小企业发展促进条例》共有几章几条？", "7章"),
        # two groups' ranks in one window: the figure of the sentence naming the group asked
        # (海信集团…第93位), not the next one's (澳柯玛集团…第176位)
        ("海信集团在2020年《中国500最具价值品牌》中排名第几位？", "93 位"),
        # a figure the question states (more than 30%): the windows that say it compete
        ("Which Haier brand's revenue grew by more than 30% in the fourth quarter of 2024?",
         "卡萨帝"),
        ("海尔智家旗下哪个品牌2024年第四季度收入增幅超过30%？", "卡萨帝"),
    ],
)
def test_answers_on_the_seeds(seed_qa, question, span):
    answer = seed_qa.ask(question)
    assert not answer.abstained, answer.reason
    assert answer.span == span


def test_a_figure_of_another_group_in_the_passage_is_no_answer(seed_qa):
    """海尔集团 heads the passage, but the ranked sentence is 海信集团's."""
    answer = seed_qa.ask("海尔集团在2020年《中国500最具价值品牌》中排名第几位？")
    assert answer.abstained, answer.span
