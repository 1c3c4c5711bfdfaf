"""Character clean-up every reader's text goes through: font artefacts mapped back to the characters meant.

PDF fonts (and office files converted from them) often carry Kangxi radicals (`⽤` for 用), CJK compatibility
ideographs, mathematical-alphabet letters and symbol-font private-use code points where the writer meant an ordinary
character. NFKC maps most of them, but NFKC over the whole text would also turn full-width punctuation
(，。：（）) into ASCII, which the chunker and the answerer rely on; so it is applied only to those ranges.
"""

from __future__ import annotations

import re
import unicodedata

#: CJK Radicals Supplement code points that are whole characters (mostly the simplified forms fonts use for them);
#: NFKC maps only 2E9F and 2EF3. Radical-only shapes (⺮ top bamboo, ⺌ …) have no unified equivalent and stay.
_RADICALS_SUPPLEMENT = {
    "⺁": "厂", "⺅": "亻", "⺒": "巳", "⺓": "幺", "⺖": "忄", "⺘": "扌", "⺝": "月", "⺟": "母", "⺠": "民",
    "⺡": "氵", "⺣": "灬", "⺨": "犭", "⺭": "礻", "⺰": "纟", "⺾": "艹", "⻂": "衤", "⻄": "西", "⻅": "见",
    "⻆": "角", "⻈": "讠", "⻉": "贝", "⻋": "车", "⻌": "辶", "⻏": "阝", "⻐": "钅", "⻑": "長", "⻓": "长",
    "⻔": "门", "⻖": "阝", "⻘": "青", "⻙": "韦", "⻚": "页", "⻛": "风", "⻜": "飞", "⻝": "食", "⻠": "饣",
    "⻢": "马", "⻣": "骨", "⻤": "鬼", "⻥": "鱼", "⻦": "鸟", "⻧": "卤", "⻨": "麦", "⻩": "黄", "⻪": "黾",
    "⻬": "齐", "⻮": "齿", "⻰": "龙", "⻳": "龟",
}

#: Adobe Symbol font glyphs at U+F000 + code (how Word and PDF writers store them when no Unicode is mapped).
#: Only the non-letter part: Symbol's letters (F041–F07A) are Greek there but Wingdings pictographs in other
#: fonts, so without the font's name they are ambiguous and dropped.
_SYMBOL_PUA = {
    0xF020: " ", 0xF021: "!", 0xF022: "∀", 0xF023: "#", 0xF024: "∃", 0xF025: "%", 0xF026: "&", 0xF027: "∋",
    0xF028: "(", 0xF029: ")", 0xF02A: "∗", 0xF02B: "+", 0xF02C: ",", 0xF02D: "−", 0xF02E: ".", 0xF02F: "/",
    **{0xF030 + d: str(d) for d in range(10)},
    0xF03A: ":", 0xF03B: ";", 0xF03C: "<", 0xF03D: "=", 0xF03E: ">", 0xF03F: "?", 0xF040: "≅",
    0xF05B: "[", 0xF05C: "∴", 0xF05D: "]", 0xF05E: "⊥", 0xF05F: "_", 0xF07B: "{", 0xF07C: "|", 0xF07D: "}",
    0xF07E: "∼", 0xF0A2: "′", 0xF0A3: "≤", 0xF0A4: "⁄", 0xF0A5: "∞", 0xF0AB: "↔", 0xF0AC: "←", 0xF0AD: "↑",
    0xF0AE: "→", 0xF0AF: "↓", 0xF0B0: "°", 0xF0B1: "±", 0xF0B2: "″", 0xF0B3: "≥", 0xF0B4: "×", 0xF0B5: "∝",
    0xF0B6: "∂", 0xF0B7: "•", 0xF0B8: "÷", 0xF0B9: "≠", 0xF0BA: "≡", 0xF0BB: "≈", 0xF0BC: "…", 0xF0C4: "⊗",
    0xF0C5: "⊕", 0xF0C6: "∅", 0xF0C7: "∩", 0xF0C8: "∪", 0xF0C9: "⊃", 0xF0CA: "⊇", 0xF0CB: "⊄", 0xF0CC: "⊂",
    0xF0CD: "⊆", 0xF0CE: "∈", 0xF0CF: "∉", 0xF0D0: "∠", 0xF0D1: "∇", 0xF0D5: "∏", 0xF0D6: "√", 0xF0D7: "⋅",
    0xF0D9: "∧", 0xF0DA: "∨", 0xF0DB: "⇔", 0xF0DC: "⇐", 0xF0DD: "⇑", 0xF0DE: "⇒", 0xF0DF: "⇓", 0xF0E5: "∑",
    0xF0F2: "∫",
    # Wingdings bullets Word writes at these code points (their Symbol meanings, ♣ and ¬, are rare in text).
    0xF0A7: "▪", 0xF0D8: "➢", 0xF0FC: "✓",
}
#: Symbol's Greek letters, used when the PDF reader knows the glyph came from a Symbol font.
_SYMBOL_GREEK = dict(zip(range(0xF041, 0xF05B), "ΑΒΧΔΕΦΓΗΙϑΚΛΜΝΟΠΘΡΣΤΥςΩΞΨΖ", strict=True))
_SYMBOL_GREEK.update(zip(range(0xF061, 0xF07B), "αβχδεφγηιϕκλμνοπθρστυϖωξψζ", strict=True))
#: Wingdings glyphs used as list bullets, when the reader knows the font.
_WINGDINGS = {0xF06C: "●", 0xF06E: "■", 0xF071: "❑", 0xF075: "◆", 0xF076: "❖", 0xF09F: "•", 0xF0A7: "▪",
              0xF0D8: "➢", 0xF0E0: "→", 0xF0E8: "➔", 0xF0FC: "✓", 0xF0FE: "☑", 0xF0B2: "✧"}

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# A run of single CJK characters separated by typographic spaces (`学 生 手 册`): a letter-spaced heading.
_SPACED_RUN_RE = re.compile(rf"(?<![{_CJK}])[{_CJK}](?:[ \u3000\u00a0\u2002-\u200a]+[{_CJK}](?![{_CJK}]))+")
_SPACES_RE = re.compile(r"[ \u3000\u00a0\u2002-\u200a]+")
_NEEDS_WORK_RE = re.compile("[\u2e80-\u2fdf\uf900-\ufaff\ufb00-\ufb06\ue000-\uf8ff\U0001d400-\U0001d7ff"
                            "\U0002f800-\U0002fa1f\u00a0\u2002-\u200a\u3000]")


def map_char(ch: str, font: str = "") -> str:
    """One character as meant: radicals, compatibility ideographs, math letters, symbol-font code points."""
    o = ord(ch)
    if (0x2F00 <= o <= 0x2FDF or 0xF900 <= o <= 0xFAFF or 0x2F800 <= o <= 0x2FA1F or 0x1D400 <= o <= 0x1D7FF
            or 0xFB00 <= o <= 0xFB06):  # ... and Latin ligatures (ﬁ ﬂ), which break word search
        return unicodedata.normalize("NFKC", ch)
    if 0x2E80 <= o <= 0x2EFF:
        return _RADICALS_SUPPLEMENT.get(ch, ch)
    if 0xE000 <= o <= 0xF8FF:
        low = font.lower()
        if "wingding" in low and o in _WINGDINGS:
            return _WINGDINGS[o]
        if "symbol" in low and o in _SYMBOL_GREEK:
            return _SYMBOL_GREEK[o]
        return _SYMBOL_PUA.get(o, "")  # an unknown private-use glyph means nothing to a reader: dropped
    return ch


def normalize_chars(text: str) -> str:
    """Map font artefacts to ordinary characters and close letter-spaced CJK runs; everything else untouched."""
    if not _NEEDS_WORK_RE.search(text) and not _SPACED_RUN_RE.search(text):
        return text
    text = "".join(map_char(ch) if _NEEDS_WORK_RE.match(ch) and not ch.isspace() else ch for ch in text)
    return _SPACED_RUN_RE.sub(lambda m: _SPACES_RE.sub("", m.group(0)), text)


def leftover_artefacts(text: str) -> int:
    """How many radicals and private-use characters are still in `text` (a reading-quality measure)."""
    return sum(1 for ch in text if 0x2F00 <= ord(ch) <= 0x2FDF or 0xE000 <= ord(ch) <= 0xF8FF
               or (0x2E80 <= ord(ch) <= 0x2EFF and ch in _RADICALS_SUPPLEMENT))
