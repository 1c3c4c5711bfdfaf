"""Questions about several things split into sub-queries by rules over jieba's parse, and the merge that
lets every part into the top-k.

Two shapes are split (no LLM):
- several questions in one: clauses that each ask something (`X是什么？Y是多少？`, `…，以及谁…`, `…；…`),
  a clause that asks nothing (`在受灾情况下，…`, `为了…，…`) staying with the next one;
- coordination that the question distributes or compares: `A和B分别…`, `A与B各自…`, `A和B相比…`,
  `A和B有什么区别`; `A和B` alone is kept whole (政府和执政党, 工作组和联合专家组, 波黑和意大利的促进会: one
  passage usually names both), and so are words that hold 和 (中国和平, 和田, 澳门和统会 as jieba cuts it).
Question words and conjunctions are told by jieba's tags; a part that starts with a pronoun (他, 其, 该…) or
names nothing of its own gets the names of the part before it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from functools import lru_cache

from rag.components.tokenize import content_terms
from rag.types import Hit

# Words that ask: a clause holding one is a question of its own.
_QUESTION_WORDS = ("什么", "多少", "多久", "多长", "多大", "多高", "多远", "几时", "哪些", "哪个", "哪里", "哪儿",
                   "哪位", "哪家", "哪天", "哪年", "哪一", "哪",
                   "谁", "几", "何时", "何地", "何处", "为何", "如何", "怎么", "怎样", "是否", "有没有", "是不是",
                   "吗")
_QUESTION_RE = re.compile("|".join(map(re.escape, _QUESTION_WORDS)))
# Clause boundaries: sentence ends and semicolons always; a comma only before a connective or when both sides
# ask something.
_HARD_END = re.compile(r"[？?！!；;]+")
_CONNECTIVES = ("以及", "并且", "另外", "此外", "同时", "还有", "而且", "并")
_SOFT_SPLIT = re.compile(r"[，,]")
# A clause ending in one of these frames the next one (在…情况下, …期间, 为了…) rather than asking on its own.
_FRAME_END = re.compile(r"(情况下|时候|期间|之际|以后|以前|之后|之前|时|后|前|中)$")
_FRAME_START = re.compile(r"^(为了|为|在|当|随着|根据|按照|对于|关于|针对)")
# Coordination the question distributes over or compares.
_DISTRIBUTIVE = ("分别", "各自", "各")
_COMPARE = ("相比", "比较", "对比", "相较", "区别", "差别", "差异", "异同", "不同")
_CONJUNCTIONS = {"和", "与", "及", "跟", "同", "以及"}
_PRONOUN_START = re.compile(r"^(他们|她们|它们|他|她|它|其|该|此|这|那|上述|对方)")
_NAME_TAGS = ("nr", "ns", "nt", "nz", "nrt", "nrfg", "eng", "j")
_STOP_PUNCT = re.compile(r"^[，,。？?！!；;：:（）()、]+$")

log = logging.getLogger(__name__)


@lru_cache(maxsize=4096)
def _tags(text: str) -> tuple[tuple[str, str], ...]:
    import jieba
    import jieba.posseg

    jieba.setLogLevel(logging.WARNING)
    # Without the HMM, as the evidence stage does: 7x faster and it tags almost every name all the same.
    return tuple((w.word, w.flag) for w in jieba.posseg.lcut(text, HMM=False))


def asks(text: str) -> bool:
    """Whether a clause holds a question word (by jieba's cut, so 几乎 or 何况 do not count)."""
    for word, flag in _tags(text):
        if word in ("几乎", "几经", "何况", "谁知", "无论如何"):
            continue
        if any(w in word for w in ("什么", "多少", "哪", "谁")) or _QUESTION_RE.fullmatch(word):
            return True
        if word.startswith(("几", "多久", "多长", "何")) and flag in ("m", "mq", "q", "r", "ry", "t", "d"):
            return True
    return False


def _names(text: str) -> list[str]:
    return [w for w, f in _tags(text) if f in _NAME_TAGS and len(w) >= 2]


def _topic(text: str) -> list[str]:
    """What a clause is about: its names, else its leading noun run (毛伊岛野火 of 毛伊岛野火已造成…)."""
    names = _names(text)
    if names:
        return names
    lead = []
    for word, flag in _tags(text):
        if flag[:1] in ("d", "v", "p", "r", "c", "u", "m", "x") or asks(word):
            break
        lead.append(word)
    return ["".join(lead)] if len("".join(lead)) >= 2 else []


def _clauses(question: str) -> list[str]:
    """The question cut into clauses that each ask something (one clause when it is a single question)."""
    pieces: list[str] = []
    for sentence in _HARD_END.split(question):
        for piece in _SOFT_SPLIT.split(sentence):
            # 、 joins two questions when both sides ask and are long (…几个中心城区、防东铁路的设计时速是多少),
            # not a list of short ones (多少人遇难、多少人被困 shares its subject)
            sides = [x.strip() for x in piece.split("、")]
            if len(sides) == 2 and all(len(x) >= 8 and asks(x) for x in sides):
                pieces += sides
            elif piece.strip():
                pieces.append(piece.strip())
    out: list[str] = []
    pending = ""  # framing clauses (在…情况下, 为了…) waiting for the question they frame
    for n, piece in enumerate(pieces):
        connective = next((c for c in _CONNECTIVES if piece.startswith(c) and len(piece) > len(c) + 1), "")
        body = piece[len(connective):]
        if not asks(body):
            if out and (n == len(pieces) - 1) and not pending:
                out[-1] += "，" + piece  # a closing remark belongs to the question before it
            else:
                pending = f"{pending}，{piece}" if pending else piece
            continue
        if _FRAME_END.search(body) and n < len(pieces) - 1:
            pending = f"{pending}，{piece}" if pending else piece  # 在预计有什么天气情况下，…
            continue
        out.append(f"{pending}，{body}" if pending else body)
        pending = ""
    if pending:
        if out:
            out[-1] += "，" + pending
        else:
            out.append(pending)
    return out


def _coordination(clause: str) -> list[str]:
    """`A和B分别…` → [`A…`, `B…`]; `A和B相比…` → [`A`, `B`]; [] when the clause is not split."""
    tokens = list(_tags(clause))
    words = [w for w, _ in tokens]
    distributive = next((w for w in words if w in _DISTRIBUTIVE), None)
    compare = next((i for i, w in enumerate(words) if w in _COMPARE), None)
    if compare is not None and words[compare] in ("相比", "比较", "对比", "相较"):
        after = words[compare + 1] if compare + 1 < len(words) else ""
        # A和B相比(，哪个…) compares A with B; A和B相比去年同期 compares both with something else.
        if after and not _STOP_PUNCT.match(after) and not asks(after) and after not in ("之下", "而言", "起来"):
            compare = None
    if not distributive and compare is None:
        return []
    conj = next((i for i, (w, f) in enumerate(tokens)
                 if w in _CONJUNCTIONS and f in ("c", "p", "cc") and 0 < i < len(tokens) - 1), None)
    if conj is None:
        return []
    left_tokens = tokens[:conj]
    # A frame at the start (请问, 在, 对于…) stays shared by both parts.
    prefix_n = 0
    while prefix_n < len(left_tokens) - 1 and (left_tokens[prefix_n][0] in ("请问", "请", "在", "对于", "关于")):
        prefix_n += 1
    prefix = "".join(w for w, _ in left_tokens[:prefix_n])
    left = "".join(w for w, _ in left_tokens[prefix_n:])
    left_has_de = any(w == "的" for w, _ in left_tokens[prefix_n:])
    right: list[str] = []
    j = conj + 1
    while j < len(tokens):
        w, f = tokens[j]
        if (w in _DISTRIBUTIVE or w in _COMPARE or (w == "的" and not left_has_de) or f == "f"
                or _STOP_PUNCT.match(w) or asks(w) or w in ("都", "均", "之间", "谁", "哪个")):
            break
        right.append(w)
        j += 1
    rest = "".join(w for w, _ in tokens[j:])
    right_text = re.sub(r"(有|是)$", "", "".join(right))
    if len(left) < 2 or len(right_text) < 2 or asks(left) or asks(right_text):
        return []  # 他和谁见面, 和 at an edge: nothing to distribute
    head = re.match(r"^(.+?)([“\"「《].+)$", left)
    if head and right_text[:1] in "“\"「《":
        right_text = head.group(1) + right_text  # 台风“杜苏芮”和“卡努” → 台风“卡努”
    if compare is not None and not distributive:
        # A和B的手机有什么区别 → A的手机, B的手机: what comes before the cue, without its question words.
        shared = rest
        for w in _COMPARE:
            if w in shared:
                shared = shared[: shared.index(w)]
        shared = re.sub(r"(有什么|有哪些|有何|之间|什么|的)+$", "", shared)
        return [prefix + left + shared, prefix + right_text + shared]
    rest = rest.replace(distributive or "", "", 1) if distributive else rest
    return [prefix + left + rest, prefix + right_text + rest]


def split_question(question: str, max_parts: int = 4) -> list[str]:
    """The sub-queries of a question about several things; [] when it asks about one thing."""
    q = question.strip()
    if len(q) < 6:
        return []
    parts: list[tuple[str, bool]] = []  # (text, made by coordination: complete by construction)
    for clause in _clauses(q):
        coordinated = _coordination(clause)
        parts += [(p, True) for p in coordinated] if coordinated else [(clause, False)]
    parts = [(p.strip("，, "), c) for p, c in parts if p.strip("，, ")]
    if len(parts) < 2:
        return []
    # A clause that starts with a pronoun (他声称…) gets the names of the part before it in the pronoun's place;
    # one that names almost nothing (多少人被困) gets them in front.
    out: list[str] = []
    for p, coordinated in parts:
        if out and not coordinated:
            previous = [n for n in _topic(out[-1]) if n not in p][:3]
            pronoun = _PRONOUN_START.match(p)
            if previous and pronoun:
                p = "".join(previous) + p[pronoun.end():]
            elif previous and not _names(p) and len(content_terms(p)) < 3:
                p = "".join(previous) + p
        out.append(p)
    return list(dict.fromkeys(out))[:max_parts]


# ---- the cheapest LLM, when one is ready and `query_plan.subqueries.llm` is on ----

LLM_SYSTEM = ("你是检索助手。如果用户的问题同时问了几件不同的事（几个对象各自怎样、几个对象的比较、几个问题合在一起），"
              "把它拆成几个各自完整、能单独检索的中文子问题，每行一个，最多四个；如果只问了一件事，只输出“无”。"
              "不要回答问题，不要解释。")
# What makes a question worth the call: a coordination, a list of things, or several question words.
_MAYBE_SEVERAL = re.compile(r"[和与及、跟同]|以及|分别|各自|相比|比较|区别|哪些")
_NUMBERING = re.compile(r"^\s*(?:\d+\s*[.、)）:：]|[-*•·]|[（(]\d+[)）])\s*")


def may_ask_several(question: str) -> bool:
    """Cheap gate before an LLM split: only questions with a coordination, a list cue or two question words."""
    return bool(_MAYBE_SEVERAL.search(question)) or len(_QUESTION_RE.findall(question)) >= 2


def llm_split(question: str, llm, max_parts: int = 4) -> tuple[list[str], float, str | None]:
    """Sub-queries from the cheapest ready LLM: (parts, cost in CNY, provider); ([], cost, …) when it sees one
    question, fails, or answers with parts that share no content term with the question (an invented topic)."""
    done = llm.complete_cheapest([{"role": "system", "content": LLM_SYSTEM},
                                  {"role": "user", "content": f"问题：{question}\n\n子问题："}], max_tokens=160)
    if not done:
        return [], 0.0, None
    asked = set(content_terms(question))
    parts = []
    for line in str(done.get("text") or "").splitlines():
        line = _NUMBERING.sub("", line).strip().strip("\"'“”")
        if line and line.strip("。.") != "无" and len(line) <= 120 and asked & set(content_terms(line)):
            parts.append(line)
    parts = list(dict.fromkeys(parts))[:max_parts]
    return (parts if len(parts) >= 2 else []), float(done.get("cost") or 0.0), done.get("provider")


def merge_covering(lists: list[list[Hit]], top_k: int, group_of: Callable[[str], str] | None = None,
                   rounds: int | None = None, rrf_k: int = 60) -> list[Hit]:
    """Round-robin over the ranked lists (the whole question's first), each turn taking a list's best hit of a
    story not shown yet, so the top `top_k` holds the best of every part; after `rounds` turns (None: until
    `top_k`), the remaining hits by reciprocal-rank fusion over all the lists (a hit the whole question and a
    part both rank high first). On the 68 multi-part questions round-robin to the top-k covered all parts of
    0.809 (weighted and adaptive fusion), two turns then fusion 0.765 / 0.794, so the default is round-robin.

    `group_of` maps a doc id to its story (near-duplicate group), so a copy from another outlet does not
    count as covering a part.
    """
    key = group_of or (lambda d: d)
    out: list[Hit] = []
    taken: set[str] = set()
    shown: set[str] = set()
    cursors = [0] * len(lists)
    turn = 0
    while len(out) < top_k and (rounds is None or turn < rounds):
        turn += 1
        moved = False
        for i, hits in enumerate(lists):
            while cursors[i] < len(hits):
                h = hits[cursors[i]]
                cursors[i] += 1
                if h.chunk.chunk_id in taken or key(h.chunk.doc_id) in shown:
                    continue
                out.append(h)
                taken.add(h.chunk.chunk_id)
                shown.add(key(h.chunk.doc_id))
                moved = True
                break
            if len(out) >= top_k:
                break
        if not moved:
            break
    # The rest by reciprocal-rank fusion over every list; ties keep the whole question's order.
    fused: dict[str, float] = {}
    first: dict[str, tuple[int, int, Hit]] = {}
    for i, hits in enumerate(lists):
        for rank, h in enumerate(hits, start=1):
            cid = h.chunk.chunk_id
            if cid in taken:
                continue
            fused[cid] = fused.get(cid, 0.0) + 1.0 / (rrf_k + rank)
            first.setdefault(cid, (i, rank, h))
    rest = sorted(fused, key=lambda c: (-fused[c], first[c][0], first[c][1]))
    # stories not shown yet before further chunks of shown ones, so the top-k keeps covering distinct stories
    new = [c for c in rest if key(first[c][2].chunk.doc_id) not in shown]
    seen_new: set[str] = set()
    head = []
    for c in new:
        g = key(first[c][2].chunk.doc_id)
        if g not in seen_new:
            seen_new.add(g)
            head.append(c)
    tail = [c for c in rest if c not in set(head)]
    return out + [first[c][2] for c in head + tail]
