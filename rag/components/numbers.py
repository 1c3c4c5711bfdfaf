"""Numbers, amounts, percentages and dates in Chinese text, compared by value and unit, not by spelling.

`125万` = `1,250,000` = `125 万`; `0.8厘` = `0.0008元`; `百分之九十` = `90%` = `九成`; `一百二十五万` = `125万`;
`5月15日` = `5/15` = `2024-05-15` (a side that leaves the year out matches any year); `约1.78万` ~ `17805`.
Written by hand: cn2an and friends convert whole strings, not the quantities inside a sentence with their units.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: relative tolerance of a number marked as approximate (约, 近, 超过, 左右, …)
APPROX_TOLERANCE = 0.05

_DIGITS = str.maketrans("０１２３４５６７８９．％／－", "0123456789.%/-")
_CN_DIGIT = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8,
             "九": 9}
_CN_UNIT = {"十": 10, "百": 100, "千": 1000}
_CN_BIG = {"万": 10_000, "亿": 100_000_000}
_MULT = {"万亿": 1e12, "千亿": 1e11, "百亿": 1e10, "十亿": 1e9, "亿": 1e8, "千万": 1e7, "百万": 1e6, "十万": 1e5,
         "万": 1e4, "千": 1e3, "百": 1e2, "w": 1e4, "W": 1e4, "k": 1e3, "K": 1e3}
#: amounts of money in 元
_MONEY = {"元": 1.0, "块": 1.0, "圆": 1.0, "角": 0.1, "毛": 0.1, "厘": 0.001}
_APPROX = re.compile(r"(?:约合?|大约|大概|近|将近|接近|超过|超|逾|约为|差不多|估计|预计)\s*$")
_APPROX_AFTER = re.compile(r"^\s*(?:多|余|左右|上下|以上|出头)")

_CN_NUM = "零〇一二两三四五六七八九十百千万亿"
_DATE_FULL = re.compile(r"(?<!\d)(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?")
_DATE_YM = re.compile(r"(?<!\d)(\d{4})\s*年\s*(\d{1,2})\s*月")
_DATE_MD = re.compile(r"(?<![\d.])(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]")
_DATE_SLASH = re.compile(r"(?<![\d./])(\d{1,2})/(\d{1,2})(?![\d./])")
_DATE_Y = re.compile(r"(?<!\d)(\d{4})\s*年(?!\s*\d{1,2}\s*月)")
_DATE_M = re.compile(r"(?<![\d.])(\d{1,2})\s*月(?!\s*\d)")
_DATE_D = re.compile(r"(?<![\d.月])(\d{1,2})\s*[日号]")
#: measure words after which a passage's lone Chinese digit is a count (三本, 第三次, 提前三轮)
_MEASURE = re.compile(r"[个名位家款本次倍年月日号项种条人元块%轮届场期季份批架台辆座所国天周]")
_MEASURE_AFTER_BIG = re.compile(r"[吨人元辆台件个次亩户家条]")
_CN_YEAR = re.compile(r"([零〇一二三四五六七八九]{4})\s*年")
# a month (and day) in words: 元月 is January; not a count of months (三个月 has 个, 前三月 前, 两月 is not read)
_CN_DATE = re.compile(r"(?:([零〇一二三四五六七八九]{4})\s*年\s*)?"
                      r"(?<![零〇一二两三四五六七八九十百千万个几数前近头首每逐这])"
                      r"(元|十[一二]?|[一二三四五六七八九])\s*月"
                      r"(?:\s*([一二三]?十[一二三四五六七八九]?|[一二三四五六七八九])\s*[日号])?")
_PCT_CN = re.compile(rf"(百|千)分之([{_CN_NUM}点]+|\d+(?:\.\d+)?)")
_CHENG = re.compile(r"(?<![\d.])([一二三四五六七八九十]|\d)\s*成(?![本为功果员立交])")
_ARABIC = re.compile(
    # a number right after a Latin word and a space is part of a name (iPhone SE 3, Model 3), not a quantity
    r"(?<![A-Za-z\d.,])(?<![A-Za-z]-)(?<![A-Za-z]\s)(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?\s*"
    # 20余万, 3000多亿: an approximate multiple
    r"(?:[余多](?=\s*(?:万亿|千亿|百亿|十亿|亿|千万|百万|十万|万|千|百)))?\s*"
    r"(万亿|千亿|百亿|十亿|亿|千万|百万|十万|万|千|百|[wWkK](?![A-Za-z]))?\s*"
    # money units, not the start of another word (89厘米 is a length, 毛利率 a margin, 角度 an angle)
    r"(%|‰|元|块(?![头状])|圆(?![形满])|角(?![度色落])|毛(?![利巾])|厘(?![米])|)"
    r"(?!\d)"
)
_CN_RUN = re.compile(rf"[{_CN_NUM}]+(?:点[零〇一二两三四五六七八九]+)?")
# Latin letters right after a number make it part of a name (GPT-4o, 70B), not a quantity; units are fine.
_UNIT_WORDS = re.compile(r"^(?:tokens?|tok|GB|MB|TB|KB|[GMTK](?![A-Za-z])|km|kg|mm|cm|ms|s|h|x|倍)", re.I)


#: a money unit's character starting another word (九十厘米, 五毛利)
_NOT_MONEY = re.compile(r"块[头状]|圆[形满]|角[度色落]|毛[利巾]|厘米")


@dataclass(frozen=True)
class Quantity:
    """One number found in a text: its value (money in 元, percent as the percent figure) and what it is."""

    text: str
    start: int
    kind: str  # number | percent | money | date | era (a century or decade: value..raw are its years)
    value: float = 0.0
    raw: float = 0.0  # the figure before a money unit was applied (0.8 for 0.8厘)
    precision: float = 0.5  # half of the last written digit's place, in the units of `value`
    approx: bool = False
    date: tuple[int | None, int | None, int | None] = (None, None, None)


def cn_to_number(text: str) -> float | None:
    """一百二十五万 -> 1250000, 两千 -> 2000, 十五 -> 15, 二〇二四 -> 2024, 三点五 -> 3.5; None if not a numeral."""
    if not text or any(ch not in _CN_NUM + "点" for ch in text):
        return None
    if "点" in text:
        whole, _, frac = text.partition("点")
        w = cn_to_number(whole) if whole else 0.0
        if w is None or not frac or any(ch not in _CN_DIGIT for ch in frac):
            return None
        return w + float("0." + "".join(str(_CN_DIGIT[c]) for c in frac))
    if all(ch in _CN_DIGIT for ch in text) and len(text) > 1:  # digit by digit: 二〇二四
        return float("".join(str(_CN_DIGIT[c]) for c in text))
    total, section, digit = 0.0, 0.0, None
    for ch in text:
        if ch in _CN_DIGIT:
            digit = _CN_DIGIT[ch]
        elif ch in _CN_UNIT:
            section += (1 if digit is None else digit) * _CN_UNIT[ch]
            digit = None
        elif ch in _CN_BIG:
            section += digit or 0
            if section == 0:
                return None
            total = (total + section) * _CN_BIG[ch] if ch == "亿" else total + section * _CN_BIG[ch]
            section, digit = 0.0, None
    return total + section + (digit or 0)


_ERA = re.compile(r"(\d{1,2}|[一二三四五六七八九十]{1,3})\s*世纪(初|末|中叶|上半叶|下半叶)?|"
                  r"(\d{4}|\d0|[一二三四五六七八九]十)\s*年代(初|末|中期)?")


def _era_span(m: re.Match[str]) -> tuple[int, int] | None:
    """The years a century or decade covers (十九世纪 1801-1900, 七十年代 1970-1979); None if not one."""
    if m.group(1):
        n = int(m.group(1)) if m.group(1).isdigit() else cn_to_number(m.group(1))
        if not n or not 1 <= n <= 21:
            return None
        return int(n - 1) * 100 + 1, int(n) * 100
    d = m.group(3)
    n = int(d) if d.isdigit() else cn_to_number(d)
    if n is None:
        return None
    n = int(n)
    if n < 100:  # 七十年代, 70年代: of the 1900s
        n += 1900
    return (n, n + 9) if n % 10 == 0 else None


def _approx(text: str, start: int, end: int) -> bool:
    return bool(_APPROX.search(text[max(0, start - 4) : start]) or _APPROX_AFTER.match(text[end : end + 3]))


def quantities(text: str, liberal: bool = False) -> list[Quantity]:
    """Every quantity in `text`, each once (a date's digits are not also read as numbers).

    `liberal` also reads single Chinese digits before a measure word (三本, 第三次): right for the passage
    an answer is checked against (more ways to find a number), wrong for the answer (一些 is not a claim).
    """
    t = text.translate(_DIGITS)
    taken = [False] * len(t)
    out: list[Quantity] = []

    def free(a: int, b: int) -> bool:
        return not any(taken[a:b])

    def take(a: int, b: int) -> None:
        for i in range(a, b):
            taken[i] = True

    for m in _ERA.finditer(t):  # 十九世纪末, 19世纪, 七十年代, 1970年代: a span of years
        span = _era_span(m)
        if span is not None:
            take(m.start(), m.end())
            out.append(Quantity(m.group(0), m.start(), "era", float(span[0]), float(span[1])))
    for rx, fields in ((_DATE_FULL, "ymd"), (_DATE_YM, "ym"), (_DATE_MD, "md"), (_DATE_Y, "y"),
                       (_DATE_SLASH, "md"), (_DATE_M, "m"), (_DATE_D, "d")):
        for m in rx.finditer(t):
            if not free(m.start(), m.end()):
                continue
            vals = dict(zip(fields, (int(g) for g in m.groups()), strict=True))
            y, mo, d = vals.get("y"), vals.get("m"), vals.get("d")
            if (mo is not None and not 1 <= mo <= 12) or (d is not None and not 1 <= d <= 31):
                continue
            if rx is _DATE_SLASH and (mo is None or d is None):
                continue
            take(m.start(), m.end())
            out.append(Quantity(m.group(0), m.start(), "date", date=(y, mo, d)))
    for m in _CN_DATE.finditer(t):  # 五月八日, 元月三号, 二〇二二年五月八日: a date in words, compared by value
        y = cn_to_number(m.group(1)) if m.group(1) else None
        mo = 1.0 if m.group(2) == "元" else cn_to_number(m.group(2))
        d = cn_to_number(m.group(3)) if m.group(3) else None
        if mo is None or not 1 <= mo <= 12 or (m.group(3) and (d is None or not 1 <= d <= 31)):
            continue
        if free(m.start(), m.end()):
            take(m.start(), m.end())
            out.append(Quantity(m.group(0), m.start(), "date", date=(int(y) if y is not None else None, int(mo),
                                                                        int(d) if d is not None else None)))
    for m in _CN_YEAR.finditer(t):  # 二〇二四年
        y = cn_to_number(m.group(1))
        if y is not None and free(m.start(), m.end()):
            take(m.start(), m.end())
            out.append(Quantity(m.group(0), m.start(), "date", date=(int(y), None, None)))
    for m in _PCT_CN.finditer(t):
        v = cn_to_number(m.group(2)) if not m.group(2)[0].isdigit() else float(m.group(2))
        if v is not None and m.group(1) == "千":  # 千分之七点五二 = 7.52‰ = 0.752%
            v /= 10
        if v is not None and free(m.start(), m.end()):
            take(m.start(), m.end())
            out.append(Quantity(m.group(0), m.start(), "percent", v, v, 0.5, _approx(t, m.start(), m.end())))
    for m in _CHENG.finditer(t):
        g = m.group(1)
        v = float(g) if g.isdigit() else cn_to_number(g)
        if v is not None and free(m.start(), m.end()):
            take(m.start(), m.end())
            out.append(Quantity(m.group(0), m.start(), "percent", v * 10, v * 10, 5.0, True))
    for m in _ARABIC.finditer(t):
        if not free(m.start(), m.end()):
            continue
        whole, frac, mult, unit = m.group(1), m.group(2) or "", m.group(3), m.group(4)
        if "," in whole and re.fullmatch(r"\d{1,3}(?:,\d{3})+", whole) is None:
            continue
        if (whole.startswith("0") and len(whole) >= 3 and not frac) or re.search(r"\d-$", t[: m.start()]) \
                and len(whole) >= 5:
            continue  # a phone number or code (0513-81658162), not a quantity
        after = t[m.end() : m.end() + 6]
        if re.match(r"[A-Za-z]", after) and not _UNIT_WORDS.match(after):
            continue
        base = float(whole.replace(",", "") + frac)
        scale = _MULT.get(mult or "", 1.0)
        prec = 0.5 * (10 ** -len(frac[1:]) if frac else 1.0) * scale
        raw = base * scale
        kind, value = "number", raw
        if unit in ("%", "‰"):
            kind = "percent"
            value = raw if unit == "%" else raw / 10
        elif unit in _MONEY:
            kind = "money"
            value = raw * _MONEY[unit]
            prec *= _MONEY[unit]
        take(m.start(), m.end())
        approx = _approx(t, m.start(), m.end()) or bool(re.search(r"\d\s*[余多]", m.group(0)))
        out.append(Quantity(m.group(0).strip(), m.start(), kind, value, raw, prec, approx))
    for m in _CN_RUN.finditer(t):
        s = m.group(0)
        if not free(m.start(), m.end()) or s in ("万", "亿", "千") or (s in ("万亿", "千万", "百万") and not (
                liberal and _MEASURE_AFTER_BIG.match(t[m.end() : m.end() + 1]))):
            continue  # (a passage's 超百万吨 states a million tonnes)
        if s in ("十", "百") and not (liberal and t[m.end() : m.end() + 1] == "倍"):
            continue
        has_unit = any(ch in "十百千万亿点" for ch in s)
        nxt = t[m.end() : m.end() + 1]
        # an answer's lone 二…九 counts before a measure word (三年内, 五家); 一 rarely states a count (一家公司)
        counted = len(s) == 1 and s in "二两三四五六七八九" and re.match(
            r"[个名位家款本次倍项种条人年月天周届轮国]", nxt)
        if not liberal and not (has_unit and len(s) >= 2) and not counted:
            continue
        # an ordinal (第六任, 第三届) is the passage's figure whatever word follows it: 第六届 in an answer is the
        # same ordinal as the passage's 第六任, not a count the passage lacks
        ordinal = liberal and m.start() > 0 and t[m.start() - 1] == "第" and bool(re.match(r"[\u4e00-\u9fff]", nxt))
        if liberal and not has_unit and len(s) == 1 and not _MEASURE.match(nxt) and not ordinal:
            continue
        if t[m.end() : m.end() + 2] == "季度":  # 一季度, 四季度 name a quarter, not a count
            continue
        v = cn_to_number(s)
        if v is None:
            continue
        unit = nxt if nxt in _MONEY and not _NOT_MONEY.match(t[m.end() : m.end() + 2]) else ""
        end = m.end() + len(unit)
        kind, value = ("money", v * _MONEY[unit]) if unit else ("number", v)
        take(m.start(), end)
        out.append(Quantity(t[m.start():end], m.start(), kind, value, v, 0.5, _approx(t, m.start(), end)))
    out.sort(key=lambda q: q.start)
    return out


def _close(a: float, b: float, a_prec: float, b_prec: float, approx: bool) -> bool:
    if a == b:
        return True
    diff = abs(a - b)
    if approx and diff <= APPROX_TOLERANCE * max(abs(a), abs(b)):
        return True
    # a rounded figure matches the exact one it rounds (1.78万 ~ 17805), never the other way round only
    return diff < max(a_prec, b_prec) and diff <= 0.05 * max(abs(a), abs(b))


def same_quantity(claim: Quantity, source: Quantity) -> bool:
    """Whether `source` (from the passage) states the quantity `claim` (from the answer) states."""
    if claim.kind == "era" or source.kind == "era":  # a period holds the years within it
        if claim.kind == "era" and source.kind == "era":
            return claim.value == source.value and claim.raw == source.raw
        if claim.kind == "era" and source.kind == "date" and source.date[0] is not None:
            return claim.value <= source.date[0] <= claim.raw
        return False
    if claim.kind == "date" or source.kind == "date":
        if claim.kind == "date" and source.kind == "date":
            return all(c is None or s is None or c == s for c, s in zip(claim.date, source.date, strict=True)) \
                and any(c is not None and s is not None for c, s in zip(claim.date, source.date, strict=True))
        if claim.kind == "number":  # a bare 15 may be a day or month the passage writes as a date
            return any(s is not None and s == claim.value for s in source.date)
        return False
    approx = claim.approx or source.approx
    if claim.kind == "percent" or source.kind == "percent":
        # 约4.2% is 4.2% rounded, not anything within 5% of it: percentages are compared to their written digits
        return claim.kind == source.kind and _close(claim.value, source.value, claim.precision, source.precision,
                                                    False)
    if claim.kind == "money" and source.kind == "money":
        return _close(claim.value, source.value, claim.precision, source.precision, approx)
    return any(_close(a, b, claim.precision, source.precision, approx)
               for a in (claim.value, claim.raw) for b in (source.value, source.raw))


def found_in(claim: Quantity, source: list[Quantity]) -> bool:
    """Whether any quantity of the passage states `claim`."""
    return any(same_quantity(claim, s) for s in source)


__all__ = ["APPROX_TOLERANCE", "Quantity", "cn_to_number", "found_in", "quantities", "same_quantity"]
