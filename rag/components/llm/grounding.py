"""Citation check of an LLM answer: every claim is covered by a given chunk that supports it, numbers and names
included, and a refusal only stands where the retrieved material is weak.

The answer is read the way Chinese LLMs write it: markers of many shapes (citations.py), one citation closing
a paragraph or list item for all its sentences, uncited lead-ins (`主要有以下几点：`) and headings, refusals in
many phrasings. Each claim sentence is then checked against the sentences of the chunks that cover it:
  - support: its best window of one or two chunk sentences holds enough of its words (bigram recall), or,
    where an embedder is given, is close enough in meaning (multilingual-e5 cosine) while still sharing some
    words (see docs/grounding.md for the measurement behind the thresholds);
  - numbers (numbers.py, by value and unit) must be in the chunk clauses that match the claim's clause best,
    and belong to the entity the claim names (not Alibaba's 200万 given to ByteDance);
  - organisations, people and products it names must appear in a cited chunk.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache

import numpy as np

from rag.components.llm.citations import markers_in, normalise_markers, strip_markers
from rag.components.numbers import Quantity, quantities, same_quantity
from rag.settings_llm import GroundingSettings

#: cosine similarities of sentence pairs: (claims, evidence) -> matrix len(claims) x len(evidence)
Similarity = Callable[[Sequence[str], Sequence[str]], np.ndarray]

# A sentence ends at 。！？ (not at ；: a citation closing a compound sentence covers its clauses).
_SENTENCE = re.compile(r"[^。！？!?\n]+[。！？!?]*")
_MARKER_RUN = r"(?:\s*\[\d{1,2}\])+"
# markers written after the sentence end or after a closing quote/bracket belong to the sentence before
_MARKERS_AFTER_END = re.compile(rf"([。！？!?；;]+)([”’\"」』》）)\]】]*)({_MARKER_RUN})")
_MARKERS_AFTER_QUOTE = re.compile(rf"([”’\"」』])({_MARKER_RUN})")
_CONTENT = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fffA-Za-z0-9]")
_ASCII_WORD = re.compile(r"[A-Za-z]+[A-Za-z0-9]*(?:[.\-][A-Za-z0-9]+)*|\d+(?:\.\d+)?")
_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]+")
_LIST_PREFIX = re.compile(
    r"^\s*(?:[-*+•·]\s+|\d{1,2}\s*[.、)）](?!\d)\s*|[（(]\d{1,2}[)）]\s*|[一二三四五六七八九十]+、\s*)"
)
_HEADING = re.compile(r"^\s*#{1,6}\s+")
_BOLD_LINE = re.compile(r"^\s*(?:[-*+]\s+)?\*\*[^*]{1,40}\*\*\s*[:：]?\s*$")
_TABLE_SEP = re.compile(r"^\s*\|?\s*:?-{2,}")
# clause ends: Chinese and ASCII punctuation and line breaks, but not a thousands separator (7,490)
_CLAUSE = re.compile(r"(?:[^，,；;：:、（）()\n|｜]|,(?=\d{3}(?!\d)))+")
# a refusal followed by 但/不过/… goes on to claim something: that part is a claim like any other
_CONTRAST = re.compile(r"[，,；;]\s*(?=(?:但是?|不过|然而|可是|只是|但据|据了解|据报道|据悉|"
                       r"一般来说|一般而言|通常来说|通常情况下|按照?惯例)\S)")
_DECOR = re.compile(r"[*_`>]+|#+(?!\d)")  # (#65 is an issue number, not Markdown)
#: openers that connect rather than claim (综上所述，…): not counted in a sentence's support
_CONNECTIVE = re.compile(
    r"^(?:综上所述|综上|总之|总的来说|总体来看|总体而言|简而言之|也就是说|换句话说|此外|另外|同时|其次|首先|"
    r"最后|因此|所以|可见|根据(?:提供的|所给的?|上述|以上)?(?:资料|材料|信息|内容)(?:显示|来看)?|"
    # attribution frames say who holds a view, not what the view is: 在他看来，…; 据他介绍，…
    r"在[^，,。]{1,12}看来|据[^，,。]{1,12}(?:介绍|表示|透露|称|分析|解读)|"
    # frames that announce a summary or a reading (刘伟光的观点可以概括为：…; 资料只提到了…; 从历年数据看，…)
    r"[^，,。：:]{1,16}?的?(?:观点|看法|意见|结论|判断|说法)(?:可以|可)?(?:概括|总结|归纳)为|"
    r"(?:资料|材料|文中|原文|文章)中?(?:只|仅)?(?:提到|显示|指出|说明|写到|介绍)了?|从[^，,。]{1,8}(?:来看|看))[，,：:]?"
)

# ---- refusals: a family of phrasings, recognised sentence by sentence ------------------------------------
_SOURCE = (r"(?:资料|材料|文档|文本|文件|内容|参考|上下文|段落|片段|来源|信息|原文|报道|文章|检索|"
           r"提供的|所给|给定|给出的|现有|以上|上述)")
_NEG = (r"(?:没有|没|未|无|并未|并没有|不包含|不涉及|未能|无法|不能|难以|不足以|缺少|缺乏|尚未|暂无|找不到|查不到|"
        r"并不|不)")
_WHAT = (r"(?:提及|提到|说明|涉及|包含|记载|记录|给出|披露|显示|公布|透露|明确|具体|列出|找到|查到|回答|解答|得知|确定|"
         r"判断|得出|确认|获知|知道|提供|相关|包括|有关|关于|介绍|描述|指出|谈到|数据|信息|内容|答案|依据)")
_REFUSAL_RES = (
    re.compile(rf"{_SOURCE}.{{0,30}}?{_NEG}.{{0,24}}?{_WHAT}"),
    re.compile(r"^(?:但是?|不过|然而|可是|只是)?(?:并|却|也)?(?:没有|未|无)"
               r"(?:提供|给出|提到|提及|涉及|说明|关于|相关)?.{0,20}(?:数据|信息|数字|说明|记载|内容|细节|答案)[。.]?$"),
    re.compile(rf"{_NEG}.{{0,6}}?(?:从|根据|依据|基于|在).{{0,16}}?{_SOURCE}.{{0,20}}?{_WHAT}"),
    re.compile(r"(?:无法回答|无从得知|不得而知|无法得知|无从判断|无法判断|无法确定|无法给出|无法提供|未能找到|没有找到|"
               r"未找到|找不到|查无|暂无相关|没有相关|没有关于|未提及|没有提及|未提到|没有提到|未涉及|没有涉及|并未说明|"
               r"没有说明|未说明|未披露|没有披露|未给出|没有给出|不足以回答|超出了?.{0,6}范围|"
               r"(?:暂未|尚未|未能?|没有|并未)(?:检索|查询|搜索|查找|查)到)"),
    re.compile(r"\b(?:not (?:mentioned|provided|found|stated|included)|does(?: not|n't) (?:mention|contain|say|"
               r"provide|include|cover|specify|state|give)|cannot (?:be )?(?:answer|determine|found)|"
               r"no (?:relevant )?information|(?:is|are) not (?:available|given|specified))\b", re.I),
)
_APOLOGY = re.compile(r"^(?:抱歉|很抱歉|对不起|非常抱歉|遗憾|很遗憾|sorry)")
#: advice and courtesy around an answer (建议查阅官网…, 希望对您有帮助): they state no fact about the topic
_META = re.compile(r"^(?:建议|如需|如果您?需要|如您|若需|希望|欢迎|请参阅|请查阅|可以查阅|您可以|如有|"
                   r"以上(?:信息|内容|回答|就是)|以上(?:数据|资料|信息|内容)?均?(?:见|来自|出自|引自|摘自|参考|援引)|仅供参考|注[:：]|备注|需要注意的是[,，]?(?:以上|上述)|更多(?:信息|详情)|"
                   # a closing line naming the source (数据来源：资料[1], 出处：[2]) states nothing itself
                   r"(?:数据|资料|信息)?(?:来源|出处)(?:于|自)?[:：]?\s*(?:资料|文档|材料|参考资料)?$|参考(?:资料|文献)?[:：]\s*$)")

# ---- entities -----------------------------------------------------------------------------------------------
_ENTITY_FLAGS = ("nr", "nrt", "nrfg", "ns", "nt", "nz")
#: generic places and common Latin terms that name no particular organisation, person or product
_GENERIC = frozenset(
    "中国 我国 国内 国外 全国 全球 世界 海外 境内 境外 亚洲 欧洲 美洲 非洲 中方 外国 各国 本国 全市 全省 中华 "
    "ai api apis llm llms aigc gpu gpus cpu app apps it ceo cto cfo b c tob toc saas paas iaas token tokens gdp cpi "
    "ppi pdf ppt ok vs etc q1 q2 q3 q4 h1 h2 ip ui ux sdk ar vr xr pc tv id kpi roi ipo etf esg pmi roe eps pe pb mvp "
    "faq url".split()
)
#: one-character offices that end an organisation's name, and the tags of the words before them
_ORG_HEADS = frozenset("局 部 司 处 厅 署 委 办 院".split())
_ORG_PARTS = ("n", "nt", "ns", "nz", "vn", "j")
_LATIN_NAME = re.compile(r"(?<![A-Za-z0-9])[A-Za-z][A-Za-z0-9]*(?:[.\-][A-Za-z0-9]+)*(?![A-Za-z0-9])")
#: a ns/nz word more frequent than this in jieba's dictionary is a common word, not a name
_COMMON_FREQ = 50


@dataclass
class SentenceCheck:
    """The verdict on one sentence: its kind, the chunks covering it, its support scores and problems."""

    text: str
    kind: str  # claim | refusal | lead_in | heading | meta | short
    refs: list[int] = field(default_factory=list)
    inherited: bool = False  # covered by a citation elsewhere in its paragraph / list / answer
    lexical: float | None = None
    semantic: float | None = None
    problems: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {"text": self.text, "kind": self.kind, "refs": self.refs, "inherited": self.inherited,
                "lexical": None if self.lexical is None else round(self.lexical, 3),
                "semantic": None if self.semantic is None else round(self.semantic, 3), "problems": self.problems}


@dataclass
class GroundingResult:
    """Outcome of the check: ok, whether the answer is a refusal, what it cites and what is wrong."""

    ok: bool
    refused: bool
    cited: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    sentences: list[SentenceCheck] = field(default_factory=list)
    method: str = "lexical"  # lexical | lexical+semantic: how support was judged

    def to_dict(self) -> dict[str, object]:
        return {"ok": self.ok, "refused": self.refused, "cited": self.cited, "problems": self.problems,
                "method": self.method}


# ---- text pieces ---------------------------------------------------------------------------------------------


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def split_sentences(text: str) -> list[str]:
    """Sentences with their trailing markers kept (a marker after 。 or after a closing quote belongs to the
    sentence before it)."""
    text = normalise_markers(text)
    moved = _MARKERS_AFTER_END.sub(lambda m: m.group(3).strip() + m.group(2) + m.group(1), text)
    moved = _MARKERS_AFTER_QUOTE.sub(lambda m: m.group(1) + m.group(2).strip(), moved)
    return [s.strip() for s in _SENTENCE.findall(moved) if s.strip()]


def _body(sentence: str) -> str:
    body = _LIST_PREFIX.sub("", strip_markers(sentence))
    body = _HEADING.sub("", body)
    return _DECOR.sub("", body).strip()


def refusal_sentence(sentence: str) -> bool:
    """Whether one sentence says the material does not hold the answer (in any of the usual phrasings)."""
    spaced = _nfkc(_body(sentence))
    s = re.sub(r"\s+", "", spaced)
    if not s:
        return False
    if any(rx.search(s) for rx in _REFUSAL_RES[:-1]) or _REFUSAL_RES[-1].search(spaced):
        return True
    return bool(_APOLOGY.match(s)) and bool(re.search(r"无法|不能|没有|未", s))


def is_refusal(text: str) -> bool:
    """Whether every content sentence of the answer is a refusal (a refusal beside claims is no refusal)."""
    kinds = [_kind(s, None) for s in split_sentences(text)]
    content = [k for k in kinds if k in ("claim", "refusal")]
    return bool(content) and all(k == "refusal" for k in content)


def units(text: str) -> set[str]:
    """Character bigrams of Chinese runs (a lone character as itself) plus ASCII words and numbers."""
    out: set[str] = set()
    for run in _CJK_RUN.findall(text):
        if len(run) == 1:
            out.add(run)
        out.update(run[i : i + 2] for i in range(len(run) - 1))
    out.update(w.lower() for w in _ASCII_WORD.findall(text))
    return out


def _word_units(text: str) -> set[str]:
    """`units` without numbers (they are checked by value) and with full-width forms folded."""
    return {u for u in units(_nfkc(text)) if not u[0].isdigit()}


def _claim_units(text: str) -> set[str]:
    """The words a claim's support is measured on: its quantities cut out first (they are checked by value, and
    八千四百五十三 for 8453 would otherwise count as seven unsupported bigrams)."""
    t = _nfkc(text)
    for q in reversed(quantities(t)):
        t = t[: q.start] + " " + t[q.start + len(q.text) :]
    return _word_units(t)


def _dateless_units(text: str) -> set[str]:
    """`_word_units` with the dates cut out first: the 年/月/日 left between a date's digits are no words, and
    would make a clause stating another date of that month (2022年5月9日) look like the source of 2022年5月8日."""
    t = _nfkc(text)
    for q in reversed(quantities(t)):
        if q.kind == "date":
            t = t[: q.start] + " " + t[q.start + len(q.text) :]
    return _word_units(t)


def support(sentence: str, evidence: str) -> float:
    """Share of the sentence's bigrams/words found in the evidence (recall of the sentence, 0..1)."""
    claim = units(strip_markers(sentence))
    if not claim:
        return 1.0
    have = units(evidence)
    return len(claim & have) / len(claim)


def _recall(claim: set[str], have: set[str]) -> float:
    return len(claim & have) / len(claim) if claim else 1.0


@lru_cache(maxsize=4096)
def _chunk_sentences(text: str) -> tuple[str, ...]:
    from ingest.chunking import split_sentences as chunk_split

    sents = [s.strip() for s in chunk_split(text) if s.strip()]
    return tuple(sents) or (text,)


def _windows(sents: Sequence[str]) -> list[str]:
    """Each chunk sentence alone and joined with the next (a claim may merge two sentences)."""
    out = list(sents)
    out.extend(sents[i] + sents[i + 1] for i in range(len(sents) - 1))
    return out


# ---- entities -----------------------------------------------------------------------------------------------


def _word_freq(word: str) -> int | None:
    import jieba

    jieba.dt.check_initialized()
    return jieba.dt.FREQ.get(word) or None


@lru_cache(maxsize=8192)
def _tagged(text: str) -> tuple[tuple[str, str], ...]:
    import jieba.posseg

    return tuple((w.word, w.flag) for w in jieba.posseg.lcut(text, HMM=True))


def entities(text: str) -> list[str]:
    """Organisations, people, places and products named in `text` (jieba's name tags, Latin product names,
    organisation suffixes), generic places and common acronyms left out."""
    t = _nfkc(strip_markers(text))
    found: list[str] = []
    tagged = _tagged(t)
    for i, (word, flag) in enumerate(tagged):
        w = word.strip()
        if flag in _ENTITY_FLAGS and len(w) >= 3 and w[0] in "和与及或" and _word_freq(w) is None:
            w = w[1:]  # the HMM glues a conjunction to the word after it (营业收入…和归母净利润 -> 和归母)
        if flag not in _ENTITY_FLAGS or len(w) < 2 or w.lower() in _GENERIC:
            continue
        if flag.startswith("nr") and len(w) == 2 and _CJK_RUN.fullmatch(w) and w[0] not in _SURNAMES \
                and _word_freq(w) is None and not (i > 0 and tagged[i - 1][1] == "ns"):
            continue  # a two-character "person" without a surname is jieba's guess at an unknown word (归母,
            # 封盖), unless it follows a place (中国+铁建); people are also found by person_names()
        if w[0] in _UNIT_START and re.search(rf"[0-9〇一二三四五六七八九十两百千万]{re.escape(w)}", t) \
                and not re.search(rf"(?<![0-9〇一二三四五六七八九十两百千万]){re.escape(w)}", t):
            continue  # 16天蓬长集团 cut as 16/天蓬/长: a unit glued to the next word is no name (天蓬)
        if flag == "nt" and _common_compound(w):
            continue  # jieba's dictionary tags some phrases nt (统一安排): two common words, no office at the end
        if flag in ("ns", "nz"):
            # jieba tags many common words ns/nz (加盟, 换乘) and its HMM coins two-character "places" from
            # word fragments (大麦地共 -> 地共): keep rare dictionary words and longer new ones
            freq = _word_freq(w)
            if (freq is None and len(w) < 3) or (freq is not None and freq > _COMMON_FREQ
                                                 and not (flag == "ns" and len(w) >= 3)):  # 加拿大 is a name
                continue
        found.append(w)
    for m in _LATIN_NAME.finditer(t):
        w = m.group(0)
        if len(w) >= 2 and w.lower() not in _GENERIC and (any(c.isupper() for c in w) or any(c.isdigit() for c in w)):
            found.append(w)
    found += [n for n in person_names(t) if n not in found and not any(n in f for f in found)]
    return list(dict.fromkeys(found))


#: units and measure words that follow a figure; a "name" starting with one right after a figure is a mis-cut
_UNIT_START = frozenset("天年月日时分秒个名位人家次条元万亿号届期批件台辆吨米")
_ORG_END = re.compile(r"(?:会|局|部|院|所|司|团|委|厅|署|办|中心|行|校|学|社|台|报|厂|店|站|馆|队|军|党|处|室|府|组|"
                      r"盟|联|企|集团|机构|组织|协会|基金)$")


def _common_compound(word: str) -> bool:
    """Whether `word` is two common words run together and ends in no office (统一+安排, not 镇+政府)."""
    import jieba

    if _ORG_END.search(word) or len(word) < 4:
        return False
    parts = [p for p in jieba.lcut(word, cut_all=True) if len(p) >= 2 and p != word]
    halves = [(word[:i], word[i:]) for i in range(2, len(word) - 1)]
    return any(a in parts and b in parts and (_word_freq(a) or 0) > 1000 and (_word_freq(b) or 0) > 1000
               for a, b in halves)


#: the commonest Chinese surnames (about 90% of people): a person's name starts with one
_SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔"
    "钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔汤常温康施文牛樊葛"
    "邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂苗谷盛曲翁冉骆蓝"
    "路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂"
    "全佟应臧闵苟邬边卞姬师仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝"
)


def person_names(text: str) -> list[str]:
    """People jieba does not know: a surname it tags as a name followed by a short word (王/nr + 亚平/ns), or a
    word its HMM coined from a surname and one or two characters (吴京/ns). jieba's tags alone miss both, so an
    invented person beside the real ones (乘组另两名成员是刘洋和王亚平) would pass the entity check."""
    words = _tagged(text)
    out: list[str] = []
    for i, (w, flag) in enumerate(words):
        if len(w) == 1 and w in _SURNAMES and flag.startswith("nr") and i + 1 < len(words):
            nxt, nflag = words[i + 1]
            if 1 <= len(nxt) <= 2 and _CJK_RUN.fullmatch(nxt) and nflag[0] in "nazdv" \
                    and not any(ch in _NAME_STOP for ch in nxt):
                out.append(w + nxt)
        elif 2 <= len(w) <= 3 and w[0] in _SURNAMES and flag in _ENTITY_FLAGS and _word_freq(w) is None \
                and _CJK_RUN.fullmatch(w) and not any(ch in _NAME_STOP for ch in w[1:]):
            out.append(w)
    return out


#: characters that end a name rather than continue it (王说, 李在, 张的)
_NAME_STOP = frozenset("的了是在和与及或也都就而被把对从向为以之其这那说称等")


#: verbs of announcing and saying: the noun phrase right before one is who acts (阿里云宣布, 字节跳动表示)
_SAY_VERBS = frozenset(
    "宣布 公布 表示 称 发布 推出 下调 上调 跟进 指出 认为 透露 强调 提到 回应 披露 公告 声明 降价 涨价".split()
)
_SUBJECT_TAGS = ("n", "nz", "nt", "nr", "nrt", "nrfg", "ns", "eng", "vn", "j")
_ADVERBS = frozenset("也 还 则 再次 随后 迅速 正式 已 已经 近日 今日 日前 首先 同样 率先 也已 亦 又 曾".split())


def organisations(text: str) -> list[str]:
    """Organisations jieba cuts into plain words: the nouns before a one-character office (国家+数据+局, 工信+部).
    Only checked for presence in the cited chunks, not used to bind figures to entities."""
    tagged = _tagged(_nfkc(strip_markers(text)))
    found: list[str] = []
    for i, (word, _flag) in enumerate(tagged):
        if word not in _ORG_HEADS or i == 0:
            continue
        parts: list[str] = []
        j = i - 1
        while j >= 0 and len(parts) < 2 and len(tagged[j][0]) >= 2 and tagged[j][1].startswith(_ORG_PARTS) \
                and tagged[j][0].lower() not in _GENERIC:
            parts.insert(0, tagged[j][0])
            j -= 1
        if parts:
            found.append("".join(parts) + word)
    return list(dict.fromkeys(found))


def _organisation_named_in(name: str, text: str) -> bool:
    """An organisation is named by its whole name or its abbreviation (工信部 for 工业和信息化部), not by its
    words scattered over the chunk (国家…数据 do not name 国家数据局)."""
    low = _nfkc(text).lower()
    if name.lower() in low:
        return True
    return _abbreviation_in(name.lower(), low)


def subjects(text: str) -> list[str]:
    """Who acts in `text`: the run of nouns before a verb of announcing or saying, jieba's tags being too sparse
    for company and product names (字节跳动 is 字节/n + 跳动/vn)."""
    words = _tagged(_nfkc(strip_markers(text)))
    out: list[str] = []
    for i, (w, _) in enumerate(words):
        if w not in _SAY_VERBS:
            continue
        j = i - 1
        while j >= 0 and words[j][0] in _ADVERBS:
            j -= 1
        run: list[str] = []
        while j >= 0 and len(run) < 3 and words[j][1].startswith(_SUBJECT_TAGS) and words[j][0].strip() \
                and words[j][1] != "r":
            run.insert(0, words[j][0])
            j -= 1
        name = "".join(run)
        if len(name) >= 2 and name.lower() not in _GENERIC and name not in ("资料", "数据", "报告", "文章", "消息"):
            out.append(name)
    return out


#: generic heads after a name (国行版, 字节跳动公司, 腾讯方面): the name without them is the name
_NAME_SUFFIX = re.compile(r"(?:版本?|款|型号?|系列|机型|方面|公司|集团|团队)$")


def _named_in(name: str, text: str) -> bool:
    """`name` occurs in `text` (case-folded), or every jieba word of it does (腾讯混元 in 腾讯云…混元-lite)."""
    low = _nfkc(text).lower()
    n = name.lower()
    if n in low:
        return True
    bare = _NAME_SUFFIX.sub("", n)
    if bare != n and len(bare) >= 2 and bare in low:
        return True
    parts = [p for p in re.split(r"[\s\-]+", n) if p]
    if len(parts) > 1 and all(p in low for p in parts):
        return True
    words = [w for w, _ in _tagged(name) if len(w.strip()) >= 2]
    if len(words) > 1 and all(w.lower() in low for w in words):
        return True
    if _glued_name_in(n, low):
        return True
    return _abbreviation_in(n, low)


#: characters jieba's HMM glues to a name on either side (由金晨, 盘和林预计 -> 林预计, 郭芝苑留下 -> 苑留下)
_GLUE_BEFORE = frozenset("由被与和及或向对给让把在从为将是据")


def _glued_name_in(n: str, low: str) -> bool:
    """A "name" that is a name of the chunk with a function character or a common word jieba glued to it: the
    chunk holds what is left once that is cut off (金晨 of 由金晨; 盘和林 in the chunk, 林预计 in the claim)."""
    if not _CJK_RUN.fullmatch(n) or len(n) < 3:
        return False
    if n[0] in _GLUE_BEFORE and n[1:] in low:
        return True
    # a common verb after the name (预计, 留下, 效力), never a head that is part of one (省, 政府, 大学)
    head, tail = n[:-2], n[-2:]
    tags = _tagged(tail)
    return len(tags) == 1 and tags[0][1][:1] in ("v", "d") and (_word_freq(tail) or 0) >= 1000 and head in low


def _abbreviation_in(n: str, low: str) -> bool:
    """A Chinese abbreviation keeps the full name's characters in order (北京人艺 for 北京人民艺术剧院, 北大 for
    北京大学): its first two characters as written, the rest within a span of twice its length."""
    if 3 <= len(n) <= 6 and _CJK_RUN.fullmatch(n):
        gaps = "".join(f"{re.escape(ch)}[\u4e00-\u9fff]{{0,3}}?" for ch in n[2:-1])
        rx = re.compile(f"{re.escape(n[:2])}{gaps}[\u4e00-\u9fff]{{0,3}}?{re.escape(n[-1])}")
        return any(len(m.group(0)) <= 2 * len(n) for m in rx.finditer(low))
    if len(n) == 2 and _CJK_RUN.fullmatch(n):  # 归母 for 归属于母公司: the second character within two after
        return re.search(f"{re.escape(n[0])}[一-鿿]{{1,2}}{re.escape(n[1])}", low) is not None
    return False


# ---- the check ------------------------------------------------------------------------------------------------


def _label_and_figures(text: str) -> bool:
    """A list item or table row that is a short label and its figures (64GB：3499元, 体长：约89厘米): too few words
    for bigram support to mean anything; its figures and names are checked by value instead."""
    return len(_claim_units(text)) <= 3 and any(q.kind != "date" for q in quantities(text))


#: a closing line saying what period the figures above cover (以上为7月10日至25日的统计数据)
_PERIOD_NOTE = re.compile(r"^(?:以上|上述|表中|上表)(?:数据)?(?:均为|均是|为|是|系)?(.+?)(?:的|期间的)?(?:统计)?"
                          r"(?:数据|数字|情况|信息)$")


def _label_and_stated_date(text: str, ev: _Evidence) -> bool:
    """A list item that is a short label and a date (日期：9月27日), or a closing note of the period the figures
    cover (以上为7月10日至25日的统计数据): supported when the chunk states those dates; the number check lets a date
    of a kind the chunk never states pass, so here it must be found by value."""
    note = _PERIOD_NOTE.match(text.strip().rstrip("。."))
    if note:
        text = note.group(1)
    qs = quantities(text)
    return len(_claim_units(text)) <= 3 and bool(qs) and all(q.kind == "date" for q in qs) \
        and all(any(same_quantity(q, x) for x in ev.all_quantities) for q in qs)


#: function characters: no content of their own (the set `_content_chars` and `_split_name_runs` both read)
_FUNCTION_CHARS = frozenset("的了在和与及或中里上下是有无没也都就而被把对从向为以之其这那些个")


def _content_chars(text: str) -> set[str]:
    return {ch for run in _CJK_RUN.findall(text) for ch in run if ch not in _FUNCTION_CHARS}


def noun_coverage(claim: str, evidence: str) -> float:
    """Share of the claim's nouns (jieba n*, vn, j, Latin words) that the evidence writes, or half of whose
    characters it has (价格 / 降价): a paraphrase re-words what the source names, an invention names new things."""
    text = _nfkc(evidence).lower()
    have = _content_chars(evidence)
    nouns = [w for w, f in _tagged(_nfkc(strip_markers(claim)))
             if len(w) >= 2 and not w[0].isdigit() and (f.startswith("n") or f in ("vn", "j", "eng"))]
    if not nouns:
        return 1.0
    held = sum(w.lower() in text or 2 * len(_content_chars(w) & have) >= len(_content_chars(w)) for w in nouns)
    return held / len(nouns)


#: a year written as a fiscal / school year or season (2021财年, 2023学年, 2022赛季): a date, not a count
_YEAR_LIKE = re.compile(r"(?:19|20)\d{2}\s*(?:财年|财政年度|年度|学年|赛季|届)")
#: a closing line that names the source: 数据来源：…, 资料出处：…, 以上内容引自…
_SOURCE_LINE = re.compile(r"^(?:(?:以上|上述)(?:数据|资料|信息|内容|图表)?(?:均|均为)?"
                          r"(?:来源|出处|引自|摘自|援引自|来自)"
                          r"|(?:数据|资料|信息|内容|图表)?(?:来源|出处|引自|摘自|援引自))(?:于|自)?\s*[:：]?")


def _kind(sentence: str, next_line_is_list: bool | None) -> str:
    body = _body(sentence)
    if len(_CONTENT.findall(body)) == 0:
        return "short"
    if _HEADING.match(sentence) or _BOLD_LINE.match(sentence):
        return "heading"
    if refusal_sentence(sentence):
        return "refusal"
    if body.endswith((":", "：")) and all(
            q.kind == "date" or (q.kind == "number" and q.value <= 12 and not q.text[0].isdigit())
            or _YEAR_LIKE.match(body, q.start)
            for q in quantities(body)):  # a lead-in may name a date or count what follows (两种推盘…如下：)
        return "lead_in"
    if _META.match(body) and not quantities(body):
        return "meta"
    if _SOURCE_LINE.match(body.strip("（）()【】[] ")) and len(_CONTENT.findall(body)) <= 40:
        return "meta"  # 数据来源：2019年年度报告[1] names where the figures above come from, and claims nothing
    return "claim"


@dataclass
class _Line:
    kind: str  # text | item | table | heading | blank
    sentences: list[str]


def _lines(answer: str) -> list[_Line]:
    out: list[_Line] = []
    for raw in answer.splitlines():
        line = raw.strip()
        if not line:
            out.append(_Line("blank", []))
        elif _TABLE_SEP.match(line) and set(line) <= set("|:- "):
            continue
        elif line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            out.append(_Line("table", [" ".join(c for c in cells if c)]))
        elif _HEADING.match(line) or _BOLD_LINE.match(line):
            out.append(_Line("heading", [line]))
        elif _LIST_PREFIX.match(line):
            out.append(_Line("item", split_sentences(line)))
        else:
            out.append(_Line("text", split_sentences(line)))
    return out


def _lists_after(answer: str) -> dict[str, int]:
    """Each line ending in a colon, with the number of list items right below it (…有以下八家： then 8 items)."""
    lines = [ln.strip() for ln in answer.splitlines()]
    out: dict[str, int] = {}
    for i, line in enumerate(lines):
        if not strip_markers(line).rstrip().endswith(("：", ":")):
            continue
        n, j = 0, i + 1
        while j < len(lines) and (not lines[j] or _LIST_PREFIX.match(lines[j])):
            n += bool(lines[j])
            j += 1
        if n:
            sents = split_sentences(line)
            out[_body(sents[-1] if sents else line)] = n
    return out


def _structure(answer: str) -> list[SentenceCheck]:
    """Sentences with their kinds and the chunks that cover them (own markers, else their paragraph's, list
    item's or table's closing citation, else the nearest cited lead-in above a list)."""
    lines = _lines(answer)
    checks: list[SentenceCheck] = []
    lead_refs: list[int] = []  # citations of the lead-in a list or table hangs from
    table_rows: list[list[SentenceCheck]] = [[]]
    for i, line in enumerate(lines):
        if line.kind == "blank":
            lead_refs = []
            continue
        if line.kind == "heading":
            checks.append(SentenceCheck(line.sentences[0], "heading"))
            lead_refs = []
            continue
        block: list[SentenceCheck] = []
        sentences: list[str] = []
        for s in line.sentences:
            parts = _CONTRAST.split(s, maxsplit=1)
            if len(parts) == 2 and refusal_sentence(parts[0]) and not refusal_sentence(parts[1]):
                sentences.extend(parts)  # 资料没有直接给出…，但推算约为5亿美元[1]: the second half is a claim
            else:
                sentences.append(s)
        for s in sentences:
            kind = _kind(s, None)
            if line.kind == "table" and i > 0 and lines[i - 1].kind != "table":
                kind = "heading"  # the header row of a table
            block.append(SentenceCheck(s, kind, markers_in(s)))
        # a citation closing (or, failing that, opening) a paragraph / item covers its uncited sentences
        for j, c in enumerate(block):
            if c.kind != "claim" or c.refs:
                continue
            after = next((b.refs for b in block[j + 1 :] if b.refs), None)
            before = next((b.refs for b in reversed(block[:j]) if b.refs), None)
            refs = after or before or (lead_refs if line.kind in ("item", "table") else None)
            if refs:
                c.refs, c.inherited = list(refs), True
        if line.kind == "table":
            table_rows[-1].extend(block)
        elif table_rows[-1]:
            table_rows.append([])
        if line.kind == "text" and block and block[-1].kind == "lead_in":
            lead_refs = [n for b in block for n in b.refs]
        elif line.kind == "text":
            lead_refs = []
        checks.extend(block)
    for rows in table_rows:  # a table cites once for all its rows
        refs = list(dict.fromkeys(n for r in rows for n in r.refs))
        for r in rows:
            if r.kind == "claim" and not r.refs and refs:
                r.refs, r.inherited = refs, True
    return checks


def _short(text: str) -> str:
    body = _body(text)
    return body if len(body) <= 30 else body[:30] + "…"


def _clause_of(body: str, q: Quantity) -> str:
    """The clause of `body` holding quantity `q` with the clause before it (同比下降60% after 净利润为80亿美元)."""
    spans = [(m.start(), m.end()) for m in _CLAUSE.finditer(body)]
    pos = q.start
    for k, (a, b) in enumerate(spans):
        if a <= pos < b:
            own = body[a:b]
            # a clause that says what its figure is of (分布面积达15平方公里) stands alone: the clause before
            # states another figure, whose words would make its passage clause look like this one's source
            if len(_claim_units(own)) >= 4 and not _BARE_FIGURE.match(own):
                return own
            # a bare one (同比增长8.4%, 比2020年多出83万) is about what the clauses before it name: back to
            # the first that names something (纯电动车：10.3万辆，同比增长133.2%)
            j = k - 1
            while j > 0 and len(_claim_units(body[spans[j][0] : a])) < 4:
                j -= 1
            return body[spans[max(j, 0)][0] if k > 0 else a : b]
    return body


def _entity_context(sents: Sequence[str], k: int, names: Sequence[str]) -> list[str]:
    """The names a chunk sentence is about: its own, else those of the nearest sentence before that has any."""
    for j in range(k, max(-1, k - 3), -1):
        own = [n for n in names if _named_in(n, sents[j])]
        if own and j > 0 and _NO_SUBJECT.match(sents[j]):  # ，是马来西亚唯一的大洋岛，面积约4万平方米: the
            own += [n for n in names if _named_in(n, sents[j - 1]) and n not in own]  # subject is the last one's
        if own:
            return own
    return []


#: a sentence that opens without a subject (，是…, 是…, 位于…) goes on about the subject of the sentence before
_NO_SUBJECT = re.compile(r"^\s*[，,]|^\s*(?:是|为|位于|系|曾是|也是|并且|并|又|还)")


def _same_entity(a: str, b: str) -> bool:
    a, b = a.lower(), b.lower()
    return a in b or b in a


def _unwrap(text: str) -> str:
    """Join the hard line wraps of PDF prose (主营业务毛利率\n22.27%) but keep table rows (fields split by spaces)
    on their own lines."""
    lines = text.split("\n")
    out = lines[0] if lines else ""
    for prev, line in zip(lines, lines[1:], strict=False):
        tabular = bool(re.search(r"\S\s+\S", prev.strip())) or bool(re.search(r"\S\s+\S", line.strip()))
        out += ("\n" if tabular or not prev.strip() or not line.strip() else "") + line
    return out


#: a clause that states a change or share without naming what of (同比增长8.4%, 较去年同期减少4.49%)
_BARE_FIGURE = re.compile(r"^\s*(?:同比|环比|较|比|增长|增幅|下降|降幅|减少|增加|上升|下滑|占)")


#: a column or table header that gives its figures' unit as per cent: （%）, (%), 比例(%)
_PERCENT_HEADER = re.compile(r"[（(]\s*[%％]\s*[)）]")
#: the text mark of a figure read as a percentage through its table's header (not written with %)
_COLUMN_PERCENT = "%(列)"


class _Evidence:
    """The sentences and clauses of the chunks that cover one claim, with their quantities and names."""

    def __init__(self, texts: Sequence[str]) -> None:
        texts = [_unwrap(t) for t in texts]
        self.sents: list[str] = [s for t in texts for s in _chunk_sentences(t)]
        self.sent_chunk: list[int] = [i for i, t in enumerate(texts) for _ in _chunk_sentences(t)]
        self.windows = _windows(self.sents)
        self.window_units = [_word_units(w) for w in self.windows]
        self.window_quantities = [quantities(w, liberal=True) for w in self.windows]
        self.text = "\n".join(texts)
        self._heads = [t.strip().split("\n", 1)[0] for t in texts if "\n" in t.strip()]
        self.names = list(dict.fromkeys(n for t in texts for n in [*entities(t), *subjects(t)]))
        self.clauses: list[tuple[int, str, set[str], list[Quantity]]] = []
        # a table whose header says its figures are percentages (本期比上期同期增减（%）): -65.25 is -65.25%
        percent_tables = {i for i, t in enumerate(texts) if _PERCENT_HEADER.search(t)}
        for k, s in enumerate(self.sents):
            found = list(_CLAUSE.finditer(s))
            parts = [m.group(0) for m in found]
            for i, c in enumerate(parts):
                # a clause's words without its figures: a date's 年/月/日 left between its digits are no words
                # (2022年5月9日 would otherwise match any claim stating some other date of that month)
                cu = _dateless_units(c)
                if len(cu) < 3:  # too short to match on (而整个2022年，全年营收…; 毛利率：22.27%): read it with
                    cu = cu | _dateless_units("".join(parts[max(0, i - 1) : i + 2]))  # the clauses around it
                elif i > 0 and _BARE_FIGURE.match(c):  # 同比增长8.4% says whose growth in the clauses before
                    before = [p for p in re.split(r"[，；;：:]|,(?!\d{3})", s[: found[i].start()]) if p.strip()]
                    extra: set[str] = set()
                    while before and len(extra) < 4:  # back to the first clause naming something
                        extra |= _claim_units(before.pop())
                    cu = cu | extra
                qs = quantities(c, liberal=True)
                if self.sent_chunk[k] in percent_tables:  # a (%) column: its bare figures are percentages
                    qs = qs + [replace(x, kind="percent", text=x.text + _COLUMN_PERCENT) for x in qs
                               if x.kind == "number"]
                elif len(qs) >= 3 and _TABLE_ROW.search(c + " "):
                    # a table row cut from its header (在建工程 236,864,658.04 9.61 106,578,620.77 5.20 122.24): its
                    # figures with decimals may be the header's percentages
                    qs = qs + [replace(x, kind="percent", text=x.text + _COLUMN_PERCENT) for x in qs
                               if x.kind == "number" and "." in x.text and abs(x.value) < 1000]
                self.clauses.append((k, c, cu, qs))
        self.all_quantities = [q for _, _, _, qs in self.clauses for q in qs]
        df: dict[str, int] = {}
        for _, _, cu, _ in self.clauses:
            for u in cu:
                df[u] = df.get(u, 0) + 1
        n = max(len(self.clauses), 1)
        self._idf = {u: float(np.log(1 + n / d)) for u, d in df.items()}

    def metric_context(self, k: int) -> str:
        """Where what sentence k's figures measure is said: it, the sentence before, and the chunk's first line
        (a table's header: 生产量 销售量 above the row 罐式集装箱 7,490 6,942)."""
        return "\n".join([self.sents[k - 1] if k > 0 else "", self.sents[k], *self._heads])

    def weighted_recall(self, part: set[str], whole: set[str]) -> float:
        """Share of `part`'s weight (IDF over the chunk's clauses) that `whole` holds."""
        total = sum(self._idf.get(u, 1.0) for u in part)
        return sum(self._idf.get(u, 1.0) for u in part if u in whole) / total if total else 0.0

    def lexical(self, body: str) -> tuple[float, int]:
        claim = _claim_units(body)
        # the claim's figures count as words too, each matched where the window states it by value: a sentence
        # made mostly of figures (共有132人，其中乘客123名…) would otherwise rest on its few remaining bigrams,
        # and a figure written another way (4,570,000 for 457万) is as much the passage's as a copied word
        figures = [q for q in quantities(_nfkc(body)) if q.kind not in ("era", "date")]
        if not figures:
            scores = [_recall(claim, w) for w in self.window_units]
        else:
            total = len(claim) + len(figures)
            scores = [(len(claim & w) + sum(any(same_quantity(q, x) for x in wq) for q in figures)) / total
                      for w, wq in zip(self.window_units, self.window_quantities, strict=True)]
        best = int(np.argmax(scores)) if scores else 0
        return (scores[best] if scores else 0.0), best


#: a clause stating another figure must match the claim's clause at least this well to show it is misplaced
_RIVAL_FLOOR = 0.4
_RELATIVE_YEAR = re.compile(r"上年|去年|上一年|前一年|同比|较上年|比上年")


def _relative_year(q: Quantity, ev: _Evidence) -> bool:
    """A year the passage names relatively: 2020年 where it says 上年/同比 about 2021 (比2020年少了 for 比上年减少)."""
    if q.kind != "date" or q.date[0] is None or q.date[1] is not None:
        return False
    years = {x.date[0] for x in ev.all_quantities if x.kind == "date" and x.date[0] is not None}
    return q.date[0] + 1 in years and bool(_RELATIVE_YEAR.search(ev.text))


def _covers(x: Quantity, q: Quantity) -> bool:
    """Whether date `x` states every field date `q` states (2007年4月 states a year like 1974年 does)."""
    return x.kind == q.kind == "date" and all(a is not None for a, b in zip(x.date, q.date, strict=True)
                                               if b is not None)


def _same_fields(a: Quantity, b: Quantity) -> bool:
    return a.kind == b.kind == "date" and all((x is None) == (y is None) for x, y in zip(a.date, b.date, strict=True))


def _rival(x: Quantity, q: Quantity, column: bool = False) -> bool:
    """Whether passage quantity `x` is the kind of figure that could have been stated instead of `q`."""
    if q.kind == "date":
        return _covers(x, q)
    # a share rivals a share, an amount an amount: 净利润12,946.50万元 is no rival to 同比减少28.95%; a table
    # figure read as a share only through its column's (%) may state one, but is no rival to one
    return (x.kind == "percent") == (q.kind == "percent") and x.kind != "date" \
        and (column or not x.text.endswith(_COLUMN_PERCENT))


def _label_of_partner(q: Quantity, partners: Sequence[Quantity], ev: _Evidence) -> bool:
    """Whether a passage clause stating `q` is the label of the clause after it, which states a partner figure of
    the claim (`… | 2018年: 1,230,552,167.47 | …`): a label and its value are stated together."""
    for (k, c, _, qs), (k2, c2, _, qs2) in zip(ev.clauses, ev.clauses[1:], strict=False):
        if k == k2 and any(same_quantity(q, x) for x in qs) \
                and any(same_quantity(b, x) for b in partners for x in qs2) \
                and re.search(re.escape(c) + r"\s*[:：]\s*" + re.escape(c2), ev.sents[k]):
            return True
    return False


def _dice(a: set[str], b: set[str]) -> float:
    return 2 * len(a & b) / (len(a) + len(b)) if a and b else 0.0


#: "X和Y…分别为A和B": the figures after 分别 pair with the items before it, in order
_RESPECTIVELY = re.compile(r"([^，,。；;：:]+?)分别(?:为|是|达到?|约为?|增长|下降|减少|增加|占)?([^，,。；;]+)")
_ITEM_SEP = re.compile(r"和|与|及|以及|、|跟")


@lru_cache(maxsize=4096)
def _respective(sentence: str) -> tuple[tuple[tuple[frozenset[str], ...], tuple[Quantity, ...]], ...]:
    """Each 分别 construction of a passage sentence: the items' distinguishing words and the figures, paired
    by position (a later 分别 with one item, 对应投资事件数量分别为36起和65起, reuses the items before)."""
    out = []
    last: list[set[str]] = []
    for m in _RESPECTIVELY.finditer(sentence):
        items = [_claim_units(x) for x in _ITEM_SEP.split(m.group(1)) if _claim_units(x)]
        figures = tuple(x for x in quantities(m.group(2), liberal=True) if x.kind != "date")
        if len(items) < 2:
            items = last
        if len(items) != len(figures) or len(figures) < 2:
            continue
        last = items
        distinct = tuple(frozenset(u - set().union(*(o for j, o in enumerate(items) if j != i)))
                         for i, u in enumerate(items))
        out.append((distinct, figures))
    return tuple(out)


def _respectively_misplaced(q: Quantity, body: str, holder_sents: Sequence[str]) -> bool:
    """Whether every passage sentence stating `q` in a 分别 construction pairs it with an item other than the
    one the claim speaks of (the nearest clause up to `q` naming an item): AI生产 given AI行业应用's 74.01亿元."""
    own = [[i for i, x in enumerate(quantities(m.group(1))) if x.text == q.text]
           for m in re.finditer(r"分别([^，,。；;]+)", body)]
    own_pos = next((set(p) for p in own if p), None)  # the claim pairs by position itself (分别对应三十六起和…)
    clauses = [m.group(0) for m in _CLAUSE.finditer(body[: q.start + len(q.text)])]
    found = False
    for sent in holder_sents:
        pairs = [(items, [i for i, x in enumerate(figures) if same_quantity(q, x)])
                 for items, figures in _respective(sent)]
        pairs = [(items, pos) for items, pos in pairs if pos]
        if not pairs:
            return False
        for items, pos in pairs:
            if own_pos is not None:
                if own_pos & set(pos):
                    return False
                found = True
                continue
            for clause in reversed(clauses):
                cu = _claim_units(clause)
                score = [len(u & cu) / len(u) if u else 0.0 for u in items]
                if max(score) > 0:
                    break
            else:
                return False
            if any(score[i] > 0 for i in pos) or max(score) < 0.5:
                return False
            found = True
    return found


#: a year written as the base of a comparison (比2020年增加, 较2019年) is not the year a figure is of
_BASE_YEAR = re.compile(r"(?:比|较|与|同|相比|较之|相较|高于|低于|快于|慢于|多于|少于|超过|不及|对比)\s*(?:于\s*)?$")


def _years(text: str, bases: bool = False) -> set[int]:
    """Years `text` states a figure for (comparison bases left out, unless `bases` and there is no other)."""
    out: set[int] = set()
    base: set[int] = set()
    for x in quantities(text):
        if x.kind == "date" and x.date[0] is not None:
            before = text[max(0, x.start - 4) : x.start]
            since = re.match(r"\d{4}\s*年[^，。；]{0,16}(?:以来|开始)", text[x.start :])
            (base if _BASE_YEAR.search(before) or (since and re.search(r"[自从]$", before)) else out).add(x.date[0])
    return out or (base if bases else set())


def _base_figure_years(clause: str, q: Quantity) -> set[int]:
    """The year of a comparison's base when `q` is the base's own figure (低于2021年春节档的78.43亿元), not the
    difference (比2021年增长了80万)."""
    at = clause.find(q.text)
    m = re.search(r"(?:比|较|与|相比|相较|高于|低于|多于|少于|超过|不及)\s*(\d{4})\s*年[^，,。；的]{0,10}的\s*$",
                  clause[:at] if at > 0 else "")
    return {int(m.group(1))} if m else set()


#: the label a value follows, in a serialised table cell or a field line (`2019年: ` before the figure)
_FIELD_LABEL = re.compile(r"([^|｜，,；;：:\n]{1,20})[：:]\s*$")


def _passage_years(ev: _Evidence, k: int, clause: str) -> set[int]:
    """The years passage clause `clause` (of sentence k) is about: its own, else those named before it in its
    sentence, else those of the sentence before (2021年，上海经济总量实现突破。地区生产总值43214.85亿元…), else
    any its sentence names."""
    own = _years(clause)
    if own:
        return own
    sent = ev.sents[k]
    at = sent.find(clause)
    # a `label: value` cell (… | 2018年: 182,215,553.21 | …): the value is of its own label's year
    label = _FIELD_LABEL.search(sent[:at]) if at > 0 else None
    if label and _years(label.group(1)):
        return _years(label.group(1))
    before = _years(sent[:at]) if at > 0 else set()
    if before:
        return before
    if k > 0 and ev.sent_chunk[k - 1] == ev.sent_chunk[k] and (prev := _years(ev.sents[k - 1])) \
            and not _years(sent):
        return prev
    return _years(sent)


#: parts of a year a figure may be of: a whole year, a half, a quarter, the first three quarters
_PERIOD = re.compile(r"全年|年度|上半年|下半年|前三季度|(?:第)?([一二三四1-4])季度|[Qq]([1-4])|([Hh])([12])")


_BASE_PERIOD = re.compile(r"(?:比|较|与|相比|较之|相较|高于|低于|快于|慢于|多于|少于|超过|不及|对比)\s*(?:于\s*)?"
                          r"(?:\d{4}\s*年)?\s*(?:第)?$")


def _periods(text: str) -> set[str]:
    """The parts of a year `text` speaks of (全年 -> year, 第四季度/Q4 -> q4, 上半年/H1 -> h1)."""
    out: set[str] = set()
    for m in _PERIOD.finditer(text):
        w = m.group(0)
        before = text[max(0, m.start() - 10) : m.start()]
        if re.search(r"[上下本每前后近]$", before) or _BASE_PERIOD.search(before):
            continue  # 上一季度 is relative; 高于2021年四季度 is a comparison's base, not the figure's period
        if w in ("全年", "年度"):
            out.add("year")
        elif w in ("上半年", "下半年"):
            out.add("h1" if w[0] == "上" else "h2")
        elif w == "前三季度":
            out.add("q1-3")
        elif m.group(1) or m.group(2):
            d = m.group(1) or m.group(2)
            out.add("q" + str("一二三四".index(d) + 1 if d in "一二三四" else d))
        else:
            out.add("h" + m.group(4))
    return out


#: words between a metric and its figure (净利润为, 销量达到, 总额约), not themselves the metric
_LINK_TAIL = re.compile(r"(?:分别|合计|共计|总计|累计|高达|达到|达|约为|约|为|是|有|在|了|的|至|到|近|超过|逾|仅|只有|"
                        r"已|已经|同比|环比|每人每年|每年|每人|全年|\s)+$")


def _metric_before(body: str, q: Quantity) -> str:
    """The content word right before figure `q` in its clause (净亏损 in 净亏损为20亿美元), '' when there is none."""
    spans = [(m.start(), m.end()) for m in _CLAUSE.finditer(body)]
    start = next((a for a, b in spans if a <= q.start < b), 0)
    head = _LINK_TAIL.sub("", body[start : q.start])
    if not head or not _CJK_RUN.search(head[-1]):
        return ""
    words = [w for w, f in _tagged(head) if w.strip()]
    if not words:
        return ""
    w, flag = words[-1], dict(_tagged(head)).get(words[-1], "")
    if len(w) < 2 or not flag.startswith(("n", "vn")) or flag.startswith(("nr", "ns", "nt")) or w.lower() in _GENERIC:
        return ""
    return w


def _says_metric(metric: str, text: str) -> bool:
    """The text names the metric, or shares its characters (营收 for 营业收入, 降幅 for 下降; two of three)."""
    t = _nfkc(text)
    need = 1 if len(set(metric)) <= 2 else -(-2 * len(set(metric)) // 3)
    return metric in t or sum(ch in t for ch in set(metric)) >= need


#: a clause that is just a year (2022年，公司营业收入…): the whole year is what the clauses after it speak of
_YEAR_ONLY = re.compile(r"^\s*(?:19|20)\d{2}\s*年(?:度|全年)?\s*$")


def _period_before(sent: str, clause: str) -> set[str]:
    """The part of the year the nearest clause before `clause` in its sentence names (同比增长10% after
    2022年总营收为965亿元 is the year's growth), or nothing."""
    at = sent.find(clause)
    if at <= 0:
        return set()
    for part in reversed([p for p in re.split(r"[，,；;：:]", sent[:at]) if p.strip()]):
        # a bare year is the whole year's only in a clause stating a figure of its own (2022年总营收为965亿元),
        # not in a headline (2022年我国经济首季报18日出炉：…)
        found = _periods(part) or ({"year"} if _years(part) and (any(
            x.kind not in ("date", "era") for x in quantities(part)) or _YEAR_ONLY.match(part)) else set())
        if found:
            return found
    return set()


def _other_time(ev: _Evidence, k: int, clause: str, claim_years: set[int], claim_periods: set[str]) -> bool:
    """Whether passage clause `clause` (of sentence k) is about another year or part of a year than the claim;
    a sentence without a period word is of the period of the sentences before it (其中，…交付量为…)."""
    years = _passage_years(ev, k, clause)
    # a clause naming its year and no part of it (2022年总营收为965亿元) is about the whole year, whatever part
    # the sentence also names (网易2022年Q4营收为254亿元…；2022年总营收为965亿元)
    periods = _periods(clause) or ({"year"} if _years(clause) else set()) or _period_before(ev.sents[k], clause) \
        or next(
        (p for j in range(k, max(-1, k - 5), -1) if (p := _periods(ev.sents[j]))), set())
    return bool(claim_years and years and years.isdisjoint(claim_years)) or bool(
        claim_periods and periods and periods.isdisjoint(claim_periods))


def _wrong_year(context: str, body: str, q: Quantity, holders: Sequence[tuple[float, int, str]], ev: _Evidence,
                margin: float) -> bool:
    """Whether every passage clause stating `q` (among the best matching) is about a year the claim does not
    name: the clause's own year, else its sentence's; a clause without any year proves nothing."""
    # its clause's year (低于2021年春节档的78.43亿元: the base's own figure), else one named before it
    claim_years = _base_figure_years(context, q) or _years(context) or _years(body[: q.start])
    if not claim_years or not holders:
        return False
    top = max(sc for sc, _, _ in holders)
    for sc, k, clause in holders:
        if sc < top - margin:
            continue
        years = _base_figure_years(clause, q) or _passage_years(ev, k, clause)
        if not years or years & claim_years:
            return False
    return True


def _dated_elsewhere(body: str, q: Quantity, holders: Sequence[tuple[float, int, str]], margin: float) -> bool:
    """Whether a figure claimed for a day (10月29日的爆炸造成587人死亡), the claim naming no year, is stated only
    in passage clauses about a year of their own that state no date of that day (2017年爆炸案造成至少587人死亡,
    beside 29日爆炸案是…): the figure of another event."""
    days = [x for x in quantities(body) if x.kind == "date" and x.date[0] is None and x.date[2] is not None]
    if not days or _years(body) or not holders:
        return False
    top = max(sc for sc, _, _ in holders)
    for sc, _k, clause in holders:
        if sc < top - margin:
            continue
        if not _years(clause) or any(x.kind == "date" and x.date[2] is not None and x.date[2] == d.date[2]
                                     for d in days for x in quantities(clause)):
            return False
    return True


#: measure words that say what a count counts
_COUNTER = re.compile(r"[个组名位家款项种条台辆座所架批份场届起例件只头张篇部艘栋户本册次轮]")


def _measure_after(text: str, q: Quantity) -> str:
    """The measure word right after a count (8453个 -> 个), '' when there is none."""
    if q.value != int(q.value):
        return ""  # 2.64个盖帽 is an average, not a count: 2.64次封盖 states it
    nxt = text[q.start + len(q.text) : q.start + len(q.text) + 1]
    return nxt if q.kind == "number" and _COUNTER.fullmatch(nxt or "-") else ""


#: measure words that count the same kind of thing (5名 = 5位 = 5个 people; 3家 = 3个 companies)
_COUNTER_KIN = ("名位个", "家所个", "台辆架部艘", "条项种款", "本册部")


def _measure_agrees(a: str, b: str) -> bool:
    return not a or not b or a == b or any(a in kin and b in kin for kin in _COUNTER_KIN)


_RISE = re.compile(r"(?:增长|增加|上升|提高|提升|上涨|增幅|涨幅|多出|增|涨)$")
_FALL = re.compile(r"(?:下降|减少|下滑|降低|下跌|回落|降幅|跌幅|缩减|减|降|跌)$")
#: words that may sit between a change word and its figure (增长了约4.49%, 减少至, 下降幅度为)
_CHANGE_LINK = re.compile(r"(?:了|约|近|超过|达到?|为|幅度为?|率为?|至|到|\s)*$")


def _direction(text: str, q: Quantity) -> int:
    """+1 when the words right before figure `q` say it is a rise, -1 a fall, 0 when they say neither."""
    head = text[max(0, q.start - 12) : q.start]
    head = head[: len(head) - len(_CHANGE_LINK.search(head).group(0))]
    return 1 if _RISE.search(head) else -1 if _FALL.search(head) else 0


#: a table column of signed changes (本期比上年同期增减(%), 变动比例（%）): its figures' signs are directions
_SIGNED_COLUMN = re.compile(r"增\s*减|变动比例|变动幅度|变化幅度|变动率|增长率|[（(]\s*[%％]\s*[)）]")
_TABLE_ROW = re.compile(r"(?:-?\d[\d,.]*\s+){2,}")


def _passage_direction(clause: str, x: Quantity, signed_column: bool) -> int:
    """A passage figure's direction: its words (减少4.49%), else its sign (-29.55), else, in a table row under a
    column of signed changes, rise for an unsigned figure (在建工程 236,864,658.04 122.24)."""
    d = _direction(clause, x)
    if d:
        return d
    if x.start > 0 and clause[x.start - 1] in "-−－":
        return -1
    if signed_column and _TABLE_ROW.search(clause + " ") and not re.search(r"[增减升降涨跌]", clause):
        return 1
    return 0


def _direction_reversed(body: str, q: Quantity, clauses: Sequence[str], signed_column: bool = False) -> bool:
    """Whether the claim calls figure `q` a rise (or fall) where every passage clause stating it with a direction
    says the opposite."""
    d = _direction(body, q)
    if not d:
        return False
    seen = [_passage_direction(c, x, signed_column) for c in clauses for x in quantities(c, liberal=True)
            if same_quantity(q, x) or (signed_column and q.kind == "percent" and x.kind == "number"
                                       and same_quantity(q, replace(x, kind="percent")))]
    seen = [x for x in seen if x]
    return bool(seen) and all(x == -d for x in seen)


#: words saying a thing goes up or down, with or without a figure (价格将逐步回升 / 价格则会继续下探)
_UP_WORDS = re.compile(r"上升|回升|上涨|增长|增加|提高|提升|走高|上行|攀升|上扬|反弹|抬升|涨价|上调|升高|扩大|翻番|"
                       r"走强|加快|加速|盈利|扭亏")
_DOWN_WORDS = re.compile(r"下降|下跌|降低|减少|下滑|回落|走低|下行|下探|跳水|缩水|萎缩|收窄|降价|下调|缩小|走弱|放缓|"
                         r"减缓|亏损|由盈转亏|转亏")
_NEGATED = re.compile(r"不会|不再|没有|并未|未(?!来)|不(?!断|少|仅|同)|难以|停止|止住|遏制")


def _way(clause: str) -> int:
    """+1 when a clause speaks only of things going up, -1 only down, 0 for neither, both, or negated."""
    if _NEGATED.search(clause):
        return 0
    up, down = bool(_UP_WORDS.search(clause)), bool(_DOWN_WORDS.search(clause))
    return 1 if up and not down else -1 if down and not up else 0


_WAY_ENOUGH = 0.2

_CTX_STOP = re.compile(r"[。！？；;\n]")


def _after_context(text: str, name: str, others: Sequence[str]) -> frozenset[str]:
    """The content characters after each mention of `name` in `text`, up to the next name, the sentence's end
    or twelve characters: what the text says of that name."""
    out: set[str] = set()
    for m in re.finditer(re.escape(name), text):
        tail = _CTX_STOP.split(text[m.end() : m.end() + 40], maxsplit=1)[0]
        cut = min([i for o in others if o != name and (i := tail.find(o)) >= 0] or [len(tail)])
        out |= {ch for ch in tail[:cut][:12] if _CJK_RUN.fullmatch(ch) and ch not in _LABEL_SKIP}
    return frozenset(out)


def _roles_swapped(body: str, ev: _Evidence) -> str:
    """Two names whose sayings the claim exchanges: what it says after A is what the passage says after B, and
    what it says after B the passage says after A (张译…中国医生，袁泉…悬崖之上 where the passage pairs 张译 with
    《悬崖之上》). Both must cross, and clearly, so a reworded sentence convicts nothing."""
    text = _nfkc(ev.text)
    names = [n for n in dict.fromkeys(entities(body)) if len(n) >= 2 and n in text]
    names = [n for n in names if not any(n != o and n in o for o in names)]
    if len(names) < 2:
        return ""
    claim = {n: _after_context(body, n, names) for n in names}
    passage = {n: _after_context(text, n, names) for n in names}

    def share(a: frozenset[str], b: frozenset[str]) -> float:
        return len(a & b) / len(a) if a else 0.0

    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            common = passage[a] & passage[b]  # 凭借…获 said of both tells neither apart
            ca, cb, pa, pb = claim[a] - common, claim[b] - common, passage[a] - common, passage[b] - common
            if len(ca) < 3 or len(cb) < 3:
                continue
            crossed = share(ca, pb) >= _ROLE_CROSS and share(cb, pa) >= _ROLE_CROSS
            straight = share(ca, pa) <= _ROLE_STRAIGHT and share(cb, pb) <= _ROLE_STRAIGHT
            if crossed and straight:
                return f"{a} / {b}"
    return ""


_ROLE_CROSS = 0.5
_ROLE_STRAIGHT = 0.5


_UP_VERBS = ("增长", "增加", "上升", "提高", "提升", "上涨", "回升", "扩大", "加快", "走高", "攀升")
_DOWN_VERBS = ("下降", "减少", "下滑", "降低", "下跌", "回落", "缩小", "放缓", "减缓", "走低", "下探")
#: neighbours of a change word that every change has (同比, 明显, 持续): they tell no thing from another
_CHANGE_GENERIC = frozenset("同比 环比 较上 上年 比上 明显 大幅 持续 继续 逐步 有所 进一步 一步 显著 快速 迅速 不断 "
                            "稳步 小幅 略有 均有 分别 也有 将会 可能 有望 实现 出现 主要 原因 因为 由于 导致 所致 "
                            "幅度 速度 趋势 情况 水平 比例 人数 数量 规模 总量".split())


def _change_word_flipped(body: str, ev: _Evidence) -> str:
    """A change word whose own neighbours the passage writes only with the opposite change (提高大模型成本 where the
    passage says 降低大模型成本; 客流明显下跌 for 客流明显上涨): the thing changed is the passage's, its direction
    is not. Neighbours every change has (同比, 明显) are not read."""
    text = _nfkc(ev.text)
    for m in re.finditer("|".join(_UP_VERBS + _DOWN_VERBS), body):
        w = m.group(0)
        if re.search(r"(?:不|未|没有|并未|难以|不会|停止)$", body[max(0, m.start() - 3) : m.start()]):
            continue
        same, opposite = (_UP_VERBS, _DOWN_VERBS) if w in _UP_VERBS else (_DOWN_VERBS, _UP_VERBS)
        # three characters each side: two (人口) are shared by too many things that change
        left = body[max(0, m.start() - 3) : m.start()]
        right = body[m.end() : m.end() + 3]
        sides = [s for s in (left, right) if _CJK_RUN.fullmatch(s) and len(s) == 3
                 and s[:2] not in _CHANGE_GENERIC and s[1:] not in _CHANGE_GENERIC
                 and not any(ch in _LABEL_SKIP for ch in s)]
        if not sides:
            continue

        if _written(opposite, left, right, sides, text) and not _written(same, left, right, sides, text):
            return (left if left in sides else "") + w + (right if right in sides else "")
    return ""


def _written(words: tuple[str, ...], left: str, right: str, sides: list[str], text: str) -> bool:
    """Whether `text` writes one of the change words beside the claim's neighbour of it."""
    return any((left in sides and left + v in text) or (right in sides and v + right in text) for v in words)


#: characters that end a neighbour rather than belong to it (的, 了, 在…)
_LABEL_SKIP = frozenset("的了是在和与及也都而就还将对把被从向为以等个这那其之并于或又且但则即所如该此有到着过中"
                        "约近超逾达至")


def _way_reversed(body: str, ev: _Evidence, enough: float) -> str:
    """A claim clause saying a thing goes up where the passage clause that speaks of the same thing best (at least
    `enough` of the claim clause's weighted words) says it goes down, or the other way round: a reversed trend
    needs no figure to be wrong (B端的价格将逐步回升 for B端价格则会继续下探)."""
    for part in re.split(r"[，,；;。]", body):
        way = _way(part)
        if not way:
            continue
        words = _dateless_units(_UP_WORDS.sub(" ", _DOWN_WORDS.sub(" ", part)))
        if len(words) < 3:
            continue
        # the passage clause saying most of what the claim clause does, among those that say a trend at all
        best, where = 0.0, ""
        for _, c, _, _ in ev.clauses:
            if _way(c):
                sc = ev.weighted_recall(words, _dateless_units(c))
                if sc > best:
                    best, where = sc, c
        if best >= enough and _way(where) == -way:
            return part.strip()
    return ""


#: a sentence that says it works out or guesses its content rather than reading it from the sources
_GUESS = re.compile(r"推算|估算|推测|推断|猜测|据此(?:计算|估计)|粗略(?:计算|估计)|大致可以算出|可以算出|"
                    r"按[^，。]{0,12}计算")


_LISTED = re.compile(r"((?:[^，。；：:、\s]{1,12}[、和及与])+[^，。；：:、\s]{1,12}?)(?:等|共|这|总共|合计)?\s*$")


def _counts_listed(body: str, q: Quantity) -> bool:
    """Whether count `q` (三条, 5个) is the number of items the sentence lists right before it."""
    if q.kind != "number" or q.value > 20 or q.value != int(q.value):
        return False
    m = _LISTED.search(body[: q.start])
    return bool(m) and len(re.split(r"[、和及与]", m.group(1))) == int(q.value)


def _counted_by_answer(body: str, q: Quantity, ev: _Evidence, listed_below: int = 0) -> bool:
    """A small count the answer makes itself of what the passage names one by one (主要变化有两项：…, 三国领导人
    for the leaders it names): the passage states no count in that measure word at all, so there is nothing it
    could contradict; a count the passage does state in that measure (3名航天员) is still checked."""
    if listed_below and q.kind == "number" and q.value == listed_below \
            and re.match(r"[^，。；：:]{0,8}[：:]\s*$", body[q.start + len(q.text) :]):
        return True  # 有以下八家： over eight list items: the length of its own list
    if q.kind != "number" or not 2 <= q.value <= 5 or q.value != int(q.value) or body[max(0, q.start - 1)] == "第":
        return False  # (第四届 is an ordinal, checked as one)
    nxt = body[q.start + len(q.text) : q.start + len(q.text) + 1]
    if not nxt or not (_COUNTER.fullmatch(nxt) or nxt == "国"):
        return False
    # the items it counts, listed right after it (有两项：A；B, 共同主办单位有以下八家：- 科技部 …): its own list's
    # length, whatever counts the passage states in that measure
    after = body[q.start + len(q.text) :]
    if re.match(r"[^，。；：:]{0,8}[：:]", after):
        listed = [p for p in re.split(r"[；;]|\n\s*(?:[-*+]|\d+[.、）)])", after.split("：", 1)[-1].split(":", 1)[-1])
                  if p.strip()]
        if int(q.value) in (len(listed), listed_below):
            return True
    if q.value <= 3 and re.search(r"(?:后|这|那|其中|最后)$", body[max(0, q.start - 2) : q.start]):
        return True  # 后两条, 这两者: some of the items the passage names, pointed at, not counted
    if any(_measure_agrees(nxt, _measure_after(c, x)) and _measure_after(c, x)
           or c[x.start + len(x.text) : x.start + len(x.text) + 1] == nxt
           for _, c, _, qs in ev.clauses for x in qs if x.kind == "number"):
        return False
    n = int(q.value)
    # a list of another length in the passage convicts it (美国总统…、墨西哥总统…和加拿大总理… for 三国领导人)
    sizes = {len(re.split(r"[、和及与]", m.group(0))) for m in _ENUMERATION.finditer(_nfkc(ev.text))}
    return n in sizes


_ENUMERATION = re.compile(r"(?:[^，。；：:、\s和及与]{1,12}[、和及与])+[^，。；：:、\s和及与]{1,12}")


def _generic_small_count(q: Quantity, unit: str) -> bool:
    """个 is the all-purpose measure word of small counts: 两个选项 counts what 两条路 does."""
    return unit == "个" and q.kind == "number" and q.value <= 10


def _counts_passage_list(q: Quantity, beside: Sequence[Quantity], ev: _Evidence) -> bool:
    """Whether count `q` is the number of items a passage clause lists right before a figure that the claim's
    clause also states."""
    if q.kind != "number" or q.value > 20 or q.value != int(q.value):
        return False
    partners = [b for b in beside if b.kind != "date" and not (b.raw <= 12 and b.raw == int(b.raw))]
    for _, c, _, qs in ev.clauses:
        for x in qs:
            if any(same_quantity(b, x) for b in partners):
                m = _LISTED.search(re.split(r"共|合计|总计", c[: x.start])[0])
                if m and len(re.split(r"[、和及与]", m.group(1))) == int(q.value):
                    return True
    return False


def _unsupported_clause(claim: str, ev: _Evidence) -> str:
    """A long clause of the claim of which the cited chunks hold almost nothing (a cause or fact appended to a
    supported one: 毛利率为22.27%，下降主要是人工成本上升和人民币汇率波动导致的), '' when there is none."""
    have = _word_units(ev.text)
    for m in _CLAUSE.finditer(claim):
        # a leading connective (所以, 因此) says how the clause follows, not what it claims: its bigrams (所以, 以可)
        # are no words the chunk could hold
        cu = _claim_units(_LEADING_CONNECTIVE.sub("", m.group(0)))
        if len(cu) >= _BARE_CLAUSE_UNITS and _recall(cu, have) < _BARE_CLAUSE_RECALL:
            return _short(m.group(0))
    return ""


_BARE_CLAUSE_UNITS = 8
_LEADING_CONNECTIVE = re.compile(
    r"^\s*(?:所以|因此|因而|从而|于是|故而|进而|并且|而且|同时|此外|另外|也就是说|换句话说)")
_BARE_CLAUSE_RECALL = 0.1


#: how a sentence that goes on from the one before begins: a bare change or share, or no subject
_GOES_ON = re.compile(r"^\s*(?:同比|环比|较|比|增长|增幅|下降|降幅|减少|增加|上升|下滑|占|分别|其中|超过|大多数|"
                      r"主要因为|主要原因|是|为|位于|系|并且|并|又|还)")


def _check_numbers(body: str, ev: _Evidence, claim_names: list[str], settings: GroundingSettings,
                   given_quantities: Sequence[Quantity] = (), skip_before: int = 0,
                   listed_below: int = 0) -> list[str]:
    """Each quantity of the claim must be stated in the cited chunks; where a chunk clause stating a different
    figure of the same kind matches the claim's clause clearly better than every clause stating this one, the
    figure is taken from elsewhere (swapped, or another row's); and where the claim names an entity, some clause
    stating the figure must be about it (not Alibaba's 200万 given to ByteDance)."""
    problems: list[str] = []
    whole = _dateless_units(body)
    for q in quantities(body):
        if q.start < skip_before:
            continue  # the sentence before, read only as context
        if any(same_quantity(q, x) for x in given_quantities):
            continue  # the question's own figure (2021赛季…): a premise restated, not a claim
        if re.search(r"(?:#|＃|No\.?\s?|编号)$", body[max(0, q.start - 3) : q.start], re.IGNORECASE):
            if not any(same_quantity(q, x) for x in ev.all_quantities):
                problems.append(f"number {q.text} not in the cited chunk(s)")
            continue  # an identifier (issue #65, No.3): a name, found or not, with no clause to sit in
        score = _score_at(body, q)
        if score and score in _nfkc(ev.text).replace("：", ":").replace(" ", ""):
            continue  # a score or ratio the chunk writes as it is (2:0, 26:24): its 0 is no figure of its own
        if q.kind == "era":  # 十九世纪末, 七十年代: some year the passage states must fall in it
            if not any(same_quantity(q, x) for x in ev.all_quantities):
                problems.append(f"period {q.text} holds no year of the cited chunk(s)")
            continue
        if q.kind == "date":
            values = {tuple(v if f is not None else None for v, f in zip(x.date, q.date, strict=True))
                      for x in ev.all_quantities if _covers(x, q)}
            if not values:  # the chunk states no date of this kind (the year is the document's): nothing to check
                continue
            if len(values) == 1:  # one year (or date) stated for the whole passage: anywhere will do
                if not any(same_quantity(q, x) for x in ev.all_quantities) and not _relative_year(q, ev):
                    problems.append(f"date {q.text} not in the cited chunk(s)")
                continue
        context_text = _clause_of(body, q)
        context = _dateless_units(context_text)
        if len(context) < 4:
            context = whole
        # figures the claim's clause states besides q: a passage clause stating one of them is where that one
        # comes from (比2020年多出83万 beside 新增就业一千二百六十九万人), no rival to q
        beside = [x for x in quantities(context_text) if x.text != q.text]
        # how much of each chunk clause the claim's clause speaks of (a claim clause may merge several), words
        # that tell clauses apart (夏粮 vs 秋粮) weighing more than those they share (总产量, 亿斤)
        unit = _measure_after(body, q)
        # a count of one thing is no count of another (岩画8453组 where the passage has 个体形象8453个), nor a
        # date's month or day (5款 is not 5月21日)
        scored = [(ev.weighted_recall(cu, context), k,
                   [x for x in qs if not same_quantity(q, x) or ((_measure_agrees(unit, _measure_after(c, x))
                                                                  or _generic_small_count(q, unit))
                                                                 and not (unit and x.kind == "date"))])
                  for k, c, cu, qs in ev.clauses]
        holders = [(sc, k) for sc, k, qs in scored if any(same_quantity(q, x) for x in qs)]
        holder_clauses = [(sc, k, c) for (sc, k, qs), (_, c, _, _) in zip(scored, ev.clauses, strict=True)
                          if any(same_quantity(q, x) for x in qs)]
        if not holders:
            if _counts_listed(body, q) or _counts_passage_list(q, beside, ev) \
                    or _counted_by_answer(body, q, ev, listed_below):
                continue  # 由德大、大莱龙、龙烟三条铁路组成: a count of the items the sentence itself lists, or
                # that the passage lists beside another of its figures (初中部和新校区高中部共占地158亩: 两个校区)
            if not _relative_year(q, ev) and not _difference_of_stated(q, body, ev):
                problems.append(f"number {q.text} not in the cited chunk(s)")
            continue
        top = max(sc for sc, _ in holders)
        # a table's (%) figures rival a share only where the passage writes that share nowhere with its %
        column = not any(same_quantity(q, x) and not x.text.endswith(_COLUMN_PERCENT)
                         for _, _, qs in scored for x in qs)
        # a clause about another year or period than the claim's is no rival (2021年…交付量超过93万辆, or 第四季度
        # 交付量为405278辆, for a claim on 2022's 全年)
        claim_years = _base_figure_years(context_text, q) or _years(context_text) or _years(body[: q.start])
        # a figure claimed for a year (2021年GDP增长…) is the whole year's, unless the claim names a part of it
        claim_periods = _periods(context_text) or _periods(body[: q.start]) or ({"year"} if claim_years else set())

        # a passage clause stating q together with another figure of the claim's clause is where q comes from
        # (2018年春节档67.71亿元 for 2018年春节档票房为67.71亿元), whatever clause matches the words better
        partners = [x for x in beside if (x.kind != "date" or q.kind == "date")
                    and not (x.kind in ("number", "money") and x.raw <= 12 and x.raw == int(x.raw))]  # 前五名, 1块钱
        co_stated = bool(partners) and (any(
            any(same_quantity(q, x) for x in qs) and any(same_quantity(b, x) for b in partners for x in qs)
            for _, _, _, qs in ev.clauses) or _label_of_partner(q, partners, ev))
        rival = 0.0 if co_stated else max((sc for (sc, k, qs), (_, c, _, _) in zip(scored, ev.clauses, strict=True)
                     if any(_rival(x, q, column) and not any(same_quantity(b, x) for b in beside) for x in qs)
                     and not any(same_quantity(q, x) for x in qs)
                     and not (q.kind != "date" and _other_time(ev, k, c, claim_years, claim_periods))),
                    default=0.0)
        if rival - top >= settings.number_clause_margin and top < settings.number_clause_enough \
                and rival >= _RIVAL_FLOOR:  # a rival that barely matches convicts nothing
            problems.append(f"number {q.text} is stated elsewhere in the chunk, not where the sentence's words are")
            continue
        if q.kind != "date" and _respectively_misplaced(
                q, body, [ev.sents[k] for sc, k in holders if sc >= top - settings.number_clause_margin]):
            problems.append(f"number {q.text} is paired with another item in the chunk (分别)")
            continue
        # the direction of a change: 同比增长4.49% where every passage clause stating it says 减少4.49%
        if q.kind != "date" and _direction_reversed(body, q, [ev.clauses[i][1] for i, (sc, k, qs) in enumerate(scored)
                                                            if sc >= top - settings.number_clause_margin
                                                            and any(same_quantity(q, x) for x in qs)],
                                                    bool(_SIGNED_COLUMN.search(ev.text))):
            problems.append(f"number {q.text} is a change the other way in the chunk (rise for fall)")
            continue
        # the year a figure is of: 2021年…1186万人 is wrong where the passage says 2020年全年…1186万人
        if q.kind != "date" and _wrong_year(context_text, body, q, holder_clauses, ev,
                                            settings.number_clause_margin):
            problems.append(f"number {q.text} is the passage's figure for another year")
            continue
        if q.kind != "date" and _dated_elsewhere(body, q, holder_clauses, settings.number_clause_margin):
            problems.append(f"number {q.text} is the passage's figure for another year, not the claim's date")
            continue
        # what the figure measures: the word right before it (净亏损为20亿美元) must be said, or its characters
        # mostly written, in a passage sentence stating the figure (20亿美元收入 is no net loss)
        metric = _metric_before(body, q)
        if settings.check_figure_metric and q.kind != "date" and metric and not any(
                _says_metric(metric, ev.metric_context(k)) for sc, k in holders
                if sc >= top - settings.number_clause_margin):
            problems.append(f"number {q.text} measures something other than {metric} in the chunk")
            continue
        # ...and the part of the year: a claim on 全年 given the passage's 第四季度 figure
        if q.kind != "date" and claim_periods and all(
                _other_time(ev, k, c, set(), claim_periods) for sc, k, c in holder_clauses
                if sc >= top - settings.number_clause_margin):
            problems.append(f"number {q.text} is the passage's figure for another part of the year")
            continue
        # the names the figure's own clause speaks of (豆包…[1]；Kimi…[2] binds 125万 to 豆包, not to Kimi)
        clause = _clause_of(body, q)
        local = [n for n in claim_names if n.lower() in clause.lower()]
        known = [n for n in local if any(_same_entity(n, m) for m in ev.names)]
        if known:
            contexts = [_entity_context(ev.sents, k, ev.names) for sc, k in holders
                        if sc >= top - settings.number_clause_margin]
            if contexts and all(ctx and not any(_same_entity(n, c) for n in known for c in ctx) for ctx in contexts):
                problems.append(f"number {q.text} belongs to another entity in the chunk, not {known[0]}")
    if settings.check_figure_pairs and not problems:
        problems.extend(_swapped_figures(body, ev))
    if not problems:
        problems.extend(_swapped_dates(body, ev))
    # roles and trends are read clause by clause: the sentence's own, not the one before it (checked on its own)
    own = body[skip_before:]
    if not problems:
        swapped = _roles_swapped(own, ev)
        if swapped:
            problems.append(f"says of each of two names what the chunk says of the other ({swapped})")
    if not problems:
        flipped = _way_reversed(own, ev, _WAY_ENOUGH) or _change_word_flipped(own, ev)
        if flipped:
            problems.append(f"says the opposite of the chunk's trend ({flipped})")
    return problems


_SCORE = re.compile(r"\d{1,3}\s*[:：比]\s*\d{1,3}(?![\d.])")


def _score_at(body: str, q: Quantity) -> str:
    """The score or ratio (2:0, 3比1) figure `q` is a side of, normalised (2:0), or ''."""
    t = _nfkc(body)
    for m in _SCORE.finditer(t):
        if m.start() <= q.start < m.end():
            return re.sub(r"\s", "", m.group(0)).replace("：", ":")
    return ""


_CLAUSE_END = re.compile(r"[，,；;：:。！？\n]")


def _segments(text: str, qs: Sequence[Quantity]) -> list[set[str]]:
    """The words before each figure, back to the figure or the clause break before it (its label: 秋粮总产量为
    before 760.64亿斤)."""
    out, prev = [], 0
    for q in qs:
        seg = text[prev : q.start]
        cut = [m.end() for m in _CLAUSE_END.finditer(seg)]
        out.append(_claim_units(seg[cut[-1] :] if cut else seg))
        prev = q.start + len(q.text)
    return out


def _unit_key(text: str, q: Quantity) -> tuple[str, str]:
    """What a figure counts, for pairing like with like: its kind and the character after it (亿斤, 分, 人)."""
    nxt = text[q.start + len(q.text) : q.start + len(q.text) + 1]
    return q.kind, nxt if q.kind == "number" and _CJK_RUN.fullmatch(nxt or "-") else ""


def _swapped_figures(body: str, ev: _Evidence) -> list[str]:
    """Two like figures of a claim sentence bound to each other's labels: 夏粮548.20亿斤、秋粮760.64亿斤 where the
    passage sentence stating both says 夏粮…760.64亿斤…秋粮…548.20亿斤 (or 四级425分、六级480分 for 四级480分、
    六级425分). Each figure's label is what the claim says right before it; a passage sentence stating the
    figure and a like figure of the claim pairs it with that other figure's label when the words right before
    it name that label (two of its bigrams) and none of its own."""
    all_qs = [q for q in quantities(body) if q.kind not in ("date", "era")]
    problems: list[str] = []
    groups: dict[tuple[str, str], list[Quantity]] = {}
    for q in all_qs:
        group = groups.setdefault(_unit_key(body, q), [])
        if not any(same_quantity(q, o) or same_quantity(o, q) for o in group):  # 0.008元，即8厘: one figure twice
            group.append(q)
    for qs in groups.values():
        if len(qs) < 2:
            continue
        labels = _segments(body, qs)
        # words that name one figure's label alone (夏粮 vs 秋粮; 四级 vs 六级)
        distinct = [lab - set().union(*(o for j, o in enumerate(labels) if j != i)) for i, lab in enumerate(labels)]
        for i, q in enumerate(qs):
            if not distinct[i]:
                continue
            verdicts = []
            for sent in ev.sents:
                sq = [x for x in quantities(sent, liberal=True) if x.kind not in ("date", "era")]
                here = [x for x in sq if same_quantity(q, x)]
                if not here or not any(same_quantity(o, x) for j, o in enumerate(qs) if j != i for x in sq):
                    continue
                for x in here:
                    before = _segments(sent, [y for y in sq if y.start <= x.start])[-1]
                    own = len(distinct[i] & before)
                    other = max((len(distinct[j] & before) for j in range(len(qs)) if j != i), default=0)
                    verdicts.append(own == 0 and other >= 2)
            if verdicts and all(verdicts):
                problems.append(f"number {q.text} is paired with another item's label in the chunk")
    return problems


_DATE_SEGMENT = re.compile(r"[^，,；;。！？\n]+")


def _swapped_dates(body: str, ev: _Evidence) -> list[str]:
    """Two dates a claim clause binds to each other (1月15日可以购买1月30日的火车票) where no passage clause states
    them together but each is stated with another date (1月15日可购买…(1月29日), 1月16日可购买…(1月30日)): the
    pairs are crossed. Clauses are cut at commas only, so a bracketed date stays with its clause."""
    segments = [[x for x in quantities(m.group(0), liberal=True) if x.kind == "date"]
                for sent in ev.sents for m in _DATE_SEGMENT.finditer(sent)]
    for m in _DATE_SEGMENT.finditer(body):
        ds = [q for q in quantities(m.group(0)) if q.kind == "date" and q.date[1] is not None and q.date[2] is not None]
        if len(ds) != 2 or same_quantity(ds[0], ds[1]):
            continue
        a, b = ds

        def with_other(q: Quantity, partner: Quantity) -> bool:
            return any(any(same_quantity(q, x) for x in seg) and any(
                x.date[2] is not None and not same_quantity(q, x) and not same_quantity(partner, x) for x in seg)
                for seg in segments)

        together = any(any(same_quantity(a, x) for x in seg) and any(same_quantity(b, x) for x in seg)
                       for seg in segments)
        if not together and with_other(a, b) and with_other(b, a):
            return [f"dates {a.text} and {b.text} are each paired with another date in the chunk"]
    return []


def _difference_of_stated(q: Quantity, body: str, ev: _Evidence) -> bool:
    """Whether `q` is the difference or the sum of two other figures of the claim that the passage states
    (比1905年消失的日本狼早十六年 beside 1889年; 47个国家 beside 拉美32国、欧盟15国): arithmetic on grounded
    figures, not a new fact."""
    if q.kind not in ("number", "money"):
        return False
    stated = [x for x in quantities(body) if x.start != q.start and x.kind != "era"
              and any(same_quantity(x, y) for y in ev.all_quantities)]

    def val(x: Quantity) -> float | None:
        if x.kind == "date":
            return float(x.date[0]) if x.date[0] is not None and x.date[1] is None else None
        return x.value

    for i, a in enumerate(stated):
        for b in stated[i + 1 :]:
            va, vb = val(a), val(b)
            if va is None or vb is None or (a.kind == "date") != (b.kind == "date"):
                continue
            tol = max(q.precision, 1e-9)
            if abs(abs(va - vb) - q.value) <= tol or (a.kind != "date" and abs(va + vb - q.value) <= tol):
                return True  # a difference (早十六年) or a total (共47个国家：拉美32国、欧盟15国)
    return False


#: words of the refusal itself, not of what it says is missing
_REFUSAL_WORDS = frozenset(
    "资料 材料 文档 文本 内容 信息 相关 具体 数据 数字 问题 答案 回答 提供 提到 提及 涉及 说明 给出 "
    "找到 得知 确定 记载 包含 列出 披露 明确 直接 上下文 所给 给定 现有 以上 上述 抱歉 对不起 遗憾 "
    "无法 不能 没有 未能 并未 不足以 根据 只 仅 关于 有关 方面 情况 任何 详细 中 里 经历 经过 过程 细节".split()
)


#: words naming the kind of value a refusal says is missing (收购金额, 具体时间): a sentence holding a value of
#: that kind (a figure; a date) holds it, whatever it calls it
_VALUE_WORDS = {
    **dict.fromkeys("金额 数额 价格 数字 数值 数量 人数 规模 比例 比重 占比 增速 增幅 涨幅 降幅 多少".split(),
                    "figure"),
    **dict.fromkeys("时间 日期 年份 时候 哪一年 何时".split(), "date"),
}


def _holds_value(kind: str, sentence: str, asked: Sequence[Quantity]) -> bool:
    """Whether the sentence states a value of `kind` (figure / date) that the question does not itself state."""
    for q in quantities(sentence):
        if any(same_quantity(q, a) for a in asked):
            continue
        if (kind == "date") == (q.kind == "date"):
            return True
    return False


def _split_name_runs(text: str) -> list[str]:
    """Names jieba cuts into single characters (于乐 as 于/乐): runs of two or three one-character words, none a
    function word, read as one name."""
    out: list[str] = []
    run: list[str] = []
    for w, _ in [*_tagged(text), ("。", "x")]:
        if len(w) == 1 and _CJK_RUN.fullmatch(w) and w not in _FUNCTION_CHARS:
            run.append(w)
            continue
        if 2 <= len(run) <= 3:
            out.append("".join(run))
        run = []
    return out



def _refusal_named_support(refusals: list[SentenceCheck], given: dict[int, str], question: str = "") -> float:
    """Share of what the refusal says is missing (its content words, refusal vocabulary left out) that one given
    sentence holds: `资料中没有提到肖仰华对价格战的看法` is wrong where a sentence has 肖仰华 and 价格战; a word
    naming a kind of value (`没有说明收购金额`) is held by a sentence stating such a value (`以687亿美元收购`)."""
    from rag.components.tokenize import content_terms

    best = 0.0
    asked = quantities(question, liberal=True) if question else []
    asked_years = _years(question) | {y for c in refusals for y in _years(_body(c.text))}
    sents = [_nfkc(x) for t in given.values() for x in _chunk_sentences(_unwrap(t))]
    for c in refusals:
        # only what it says is missing: 资料只提到X，并没有给出Y names Y, not X (which is there)
        parts = [p for p in re.split(r"[，,；;]", _body(c.text)) if re.search(_NEG, p)] or [_body(c.text)]
        terms = [t for t in content_terms("，".join(parts)) if t not in _REFUSAL_WORDS and len(t) >= 2]
        terms += [n for n in _split_name_runs("，".join(parts)) if n not in terms]
        if len(terms) < 2:
            continue
        for sent in sents:
            if asked_years and _years(sent) and not _years(sent) & asked_years:
                continue  # about another year than the one asked (2023年 for 2022年全年营收)
            low = sent.lower()
            held = sum(t.lower() in low or (t in _VALUE_WORDS and _holds_value(_VALUE_WORDS[t], sent, asked))
                       for t in terms)
            best = max(best, held / len(terms))
    return best


def check_grounding(
    answer: str,
    given: dict[int, str],
    evidence: float | None,
    settings: GroundingSettings,
    similarity: Similarity | None = None,
    question: str = "",
) -> GroundingResult:
    """Each claim must be covered by a given chunk that supports it; refusals only on weak evidence."""
    cited_all = markers_in(answer)
    cited = [n for n in cited_all if n in given]
    checks = _structure(answer)
    method = "lexical+semantic" if similarity is not None and settings.semantic else "lexical"
    content = [c for c in checks if c.kind in ("claim", "refusal")]
    for c in checks:  # trivially short claims need no citation
        if c.kind == "claim" and len(_CONTENT.findall(_body(c.text))) < settings.min_sentence_chars:
            c.kind = "short"
    claims = [c for c in checks if c.kind == "claim"]
    if not answer.strip():
        return GroundingResult(False, False, [], ["empty answer"], checks, method)
    if content and all(c.kind == "refusal" for c in content):
        problems = []
        if evidence is not None and evidence >= settings.strong_evidence:
            problems.append(f"refused although retrieval evidence is strong ({evidence:.2f})")
        elif settings.refusal_named_support < 1 or settings.refusal_joint_evidence < 1:
            named = _refusal_named_support(content, given, question)
            if named >= settings.refusal_named_support:
                problems.append(f"refused although a given sentence holds what the refusal says is missing "
                                f"({named:.2f})")
            elif evidence is not None and evidence >= settings.refusal_joint_evidence \
                    and named >= settings.refusal_joint_named:
                problems.append(f"refused although retrieval evidence is high ({evidence:.2f}) and a given sentence "
                                f"holds much of what the refusal says is missing ({named:.2f})")
        return GroundingResult(not problems, True, cited, problems, checks, method)
    answer_refs = cited_all
    evs: dict[tuple[int, ...], _Evidence] = {}
    asked = quantities(question, liberal=True) if question else []
    pending_semantic: list[tuple[SentenceCheck, _Evidence, str]] = []
    hedged = any(c.kind == "refusal" for c in content)
    listed_below = _lists_after(answer)
    prev: SentenceCheck | None = None
    for c in claims:
        short = _short(c.text)
        body = _body(c.text)
        # a sentence that goes on from the one before (同比增长4.5%…, 比2020年少了…) is read with it, as one
        # sentence cut in two: its figures' labels and its subject are there
        lead = _body(prev.text) + "，" if prev is not None and prev.refs == c.refs and _GOES_ON.match(body) else ""
        prev = c
        if hedged and _GUESS.search(body):  # 资料未提及…。按…推算，约为11.2亿元: what the passage lacks, guessed
            c.problems.append(f"guesses what the answer says the sources lack: {short}")
            continue
        summary = False
        if not c.refs and answer_refs:  # an uncited summary sentence is checked against everything cited
            c.refs, c.inherited, summary = list(answer_refs), True, True
        if not c.refs:
            c.problems.append(f"sentence without citation: {short}")
            continue
        unknown = [n for n in c.refs if n not in given]
        if unknown and not c.inherited:
            c.problems.append(f"cites chunk(s) not given {unknown}: {short}")
        known = tuple(n for n in c.refs if n in given)
        if not known:
            if c.inherited:  # a table row or summary whose only citations (以上数据见[9]) name no given chunk
                c.problems.append(f"cites no chunk that was given {c.refs}: {short}")
            continue
        ev = evs.get(known)
        if ev is None:
            ev = evs[known] = _Evidence([given[n] for n in known])
        claim_text = _CONNECTIVE.sub("", body)
        c.lexical, best = ev.lexical(claim_text)
        if lead:
            c.lexical = max(c.lexical, ev.lexical(_CONNECTIVE.sub("", lead + body))[0])
        if summary:  # a closing summary may merge what several chunks say
            c.lexical = max(c.lexical, _recall(_claim_units(claim_text), _word_units(ev.text)))
        if c.lexical < settings.min_support and (_label_and_figures(claim_text)
                                                 or _label_and_stated_date(claim_text, ev)):
            pass  # 体长：约89厘米 — a label and its figures: the figures are what is checked (below)
        elif c.lexical < settings.min_support:
            if method == "lexical+semantic" and c.lexical >= settings.min_support_semantic_floor:
                pending_semantic.append((c, ev, body))
            elif settings.min_noun_coverage is not None and c.lexical >= settings.noun_coverage_floor \
                    and noun_coverage(claim_text, ev.text) >= settings.min_noun_coverage:
                pass  # re-worded: every thing it names is the chunk's (its numbers and names still checked below)
            else:
                c.problems.append(f"citation {list(known)} does not support the sentence (overlap {c.lexical:.2f}): "
                                  f"{short}")
        if not c.problems:
            bare = _unsupported_clause(claim_text, ev)
            if bare:
                c.problems.append(f"a clause has no support in the cited chunk(s) ({bare}): {short}")
        names = entities(body)
        if settings.check_entities:
            missing = [n for n in names if not _named_in(n, ev.text)]
            missing += [n for n in organisations(body) if n not in missing and not _organisation_named_in(n, ev.text)]
            if missing:
                c.problems.append(f"names {', '.join(missing)} which the cited chunk(s) {list(known)} do not: {short}")
        if settings.check_numbers:
            c.problems.extend(f"{p}: {short}" for p in _check_numbers(lead + body, ev, [*names, *subjects(body)],
                                                                      settings, asked, len(lead),
                                                                      listed_below.get(body, 0)))
    for c in checks:  # a lead-in's count of the list below it must be that list's length (以下四家： over three)
        if c.kind == "lead_in" and _body(c.text) in listed_below:
            n = listed_below[_body(c.text)]
            for q in quantities(_body(c.text)):
                tail = _body(c.text)[q.start + len(q.text) :]
                if q.kind == "number" and q.value != n and re.match(r"[^，。；：:\d]{0,6}[：:]\s*$", tail) \
                        and _COUNTER.match(tail):
                    c.problems.append(f"counts {q.text} but lists {n}: {_short(c.text)}")
    if settings.check_entities and given:
        # a lead-in or heading needs no citation, but the names it uses are still claims (根据资料，吉田茂2022年的
        # 交付情况如下： over Tesla's figures): each must be in some given chunk
        everything = "\n".join(given.values())
        for c in checks:
            if c.kind in ("lead_in", "heading"):
                missing = [n for n in entities(_body(c.text)) if not _named_in(n, everything)]
                if missing:
                    c.problems.append(f"names {', '.join(missing)} which no given chunk does: {_short(c.text)}")
    if pending_semantic and similarity is not None:
        for c, ev, body in pending_semantic:
            sims = similarity([body], ev.windows)
            c.semantic = float(np.max(sims)) if sims.size else 0.0
            if c.semantic < settings.min_semantic:
                c.problems.append(f"citation {c.refs} does not support the sentence (overlap {c.lexical:.2f}, "
                                  f"similarity {c.semantic:.2f}): {_short(c.text)}")
    problems = [p for c in checks for p in c.problems]
    return GroundingResult(not problems, False, cited, problems, checks, method)


__all__ = [
    "GroundingResult", "SentenceCheck", "Similarity", "check_grounding", "entities", "is_refusal", "markers_in",
    "refusal_sentence", "split_sentences", "strip_markers", "support", "units",
]
