"""A PDF's title: its metadata title unless that is a generator artefact, else the most prominent first-page line."""

from __future__ import annotations

import re
from pathlib import PurePath

from ingest.pdf_layout import _PAGE_NUMBER, _TOC_HEADING, PageContent, join_text

_GENERATOR_PREFIX = re.compile(r"^\s*(?:microsoft\s+(?:word|powerpoint|excel)\s*-\s*|wps\s*-\s*)", re.I)
_FILE_EXT = re.compile(r"\.(?:docx?|pptx?|xlsx?|pdf|wps|txt|rtf|odt|tex|dvi|html?|indd|cdr|ai)\s*$", re.I)
_PLACEHOLDER = re.compile(
    r"^(?:untitled|无标题|未命名|title|标题|document\d*|文档\d*|新建.*文档|slide\s*\d*|powerpoint presentation|"
    r"presentation\d*|演示文稿\d*|book\d*|工作簿\d*|unknown|none|null|default|temp|tmp|print|打印|printer|"
    r"(?:microsoft|adobe|foxit|wps).*)$", re.I)
#: company-form suffixes that are not a title on their own
_COMPANY_SUFFIX = re.compile(
    r"^(?:股份有限公司|有限责任公司|有限公司|集团股份有限公司|集团有限公司|集团|公司|inc\.?|ltd\.?|co\.?,?\s*ltd\.?|"
    r"corp(?:oration)?\.?|llc|gmbh|plc|limited)$", re.I)


def clean_meta_title(title: str, producer: str = "") -> str:
    """`Microsoft Word - X.docx` -> `X`; '' for page numbers, file names, placeholders and bare company suffixes."""
    t = re.sub(r"\s+", " ", title or "").strip().strip("\ufeff")
    t = _GENERATOR_PREFIX.sub("", t)
    t = _FILE_EXT.sub("", t).strip()
    if "/" in t or "\\" in t:  # a path: keep only a file name that is not generic
        t = _FILE_EXT.sub("", PurePath(t.replace("\\", "/")).name).strip()
    if re.fullmatch(r"[\w\-]+", t) and re.search(r"[_\d]", t) and not re.search(r"[\u4e00-\u9fff]", t):
        return ""  # `report_2019_v3`, `20200415`, `DOC000123`: a file name, not a title
    core = re.sub(r"[\s\-—–·•_.,，。:：()（）\[\]【】]+", "", t)
    if len(core) < 2 or _PAGE_NUMBER.match(t) or _PLACEHOLDER.match(t) or _COMPANY_SUFFIX.match(t.strip()):
        return ""
    if not re.search(r"[^\W\d_]", core):  # digits and punctuation only
        return ""
    if producer and t.lower() in producer.lower():
        return ""
    return t[:120]


def prominent_line(pages: list[PageContent], skip: dict[int, set[int]]) -> str:
    """The largest-font text on the first two pages (adjacent lines of that size joined), if it stands out."""
    cands = []
    for p in pages[:2]:
        for i, ln in enumerate(p.lines):
            if i in skip.get(p.number, set()) or ln.size <= 0 or _PAGE_NUMBER.match(ln.text):
                continue
            if _TOC_HEADING.match(ln.text) or len(re.sub(r"\W", "", ln.text)) < 2:
                continue
            cands.append((p.number, i, ln))
        if cands:
            break
    if not cands:
        return ""
    biggest = max(ln.size for _, _, ln in cands)
    sizes = sorted(ln.size for _, _, ln in cands)
    if biggest <= sizes[len(sizes) // 2] and len(cands) > 3:
        return ""  # nothing stands out: no visual title
    parts: list[str] = []
    last_bottom = None
    for _, _, ln in cands:
        if ln.size >= biggest - 0.5:
            if last_bottom is not None and ln.top - last_bottom > 2.5 * ln.size:
                break
            parts.append(ln.text)
            last_bottom = ln.bottom
        elif parts:
            break
    title = ""
    for part in parts[:4]:
        title = join_text(title, part)
    return re.sub(r"\s+", " ", title).strip()[:120]


def pick_title(meta_title: str, producer: str, pages: list[PageContent], skip: dict[int, set[int]],
               source: str) -> str:
    """Metadata title when it is a real one, else the most prominent line; '' when neither is found."""
    t = clean_meta_title(meta_title, producer)
    stem = PurePath(source).stem
    if t and t != stem:
        return t
    return prominent_line(pages, skip) or t
