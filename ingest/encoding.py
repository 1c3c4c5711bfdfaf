"""Decode text files in UTF-8, UTF-16, the GB family, Big5 or Shift-JIS, which reports in Chinese still ship in."""

from __future__ import annotations

import codecs

from ingest.errors import EmptyFileError, EncodingError

_BOMS = [
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
]


def _looks_utf16(data: bytes) -> str | None:
    """UTF-16 without a BOM shows NULs in every other byte for ASCII-heavy text."""
    sample = data[:4000]
    if len(sample) < 4:
        return None
    even_nuls = sample[0::2].count(0)
    odd_nuls = sample[1::2].count(0)
    half = len(sample) / 2
    if odd_nuls > 0.2 * half and even_nuls < 0.05 * half:
        return "utf-16-le"
    if even_nuls > 0.2 * half and odd_nuls < 0.05 * half:
        return "utf-16-be"
    return None


def decode_bytes(data: bytes, name: str = "file") -> tuple[str, str]:
    """Return (text, encoding); raise a specific error when the bytes are empty or undecodable."""
    if not data.strip(b" \t\r\n\x00"):
        raise EmptyFileError(f"{name}: the file is empty")
    for bom, enc in _BOMS:
        if data.startswith(bom):
            try:
                text = data.decode(enc)
            except UnicodeDecodeError:
                break  # a BOM followed by bytes of another encoding: let the checks below decide
            if not text.strip(" \t\r\n\x00\ufeff"):
                raise EmptyFileError(f"{name}: the file is empty (only a byte-order mark)")
            return text, enc
    utf16 = _looks_utf16(data)
    if utf16:
        try:
            return data.decode(utf16), utf16
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    text_enc = _east_asian(data)
    if text_enc is not None:
        return text_enc
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is not None and best.encoding and _mostly_text(str(best)):
        return str(best), best.encoding
    raise EncodingError(
        f"{name}: cannot decode the text (tried UTF-8, UTF-16, GB18030, Big5, Shift-JIS and charset detection); "
        "save it as UTF-8 and ingest it again"
    )


# Legacy East Asian encodings, in order of preference on a tie (this service reads Chinese first).
_CANDIDATES = ("gb18030", "big5", "shift_jis", "euc_jp")  # not EUC-KR: GBK reads as Hangul too often
_GB_FAMILY = {"gb18030", "gbk", "gb2312", "hz"}
SHORT_BYTES = 32  # non-ASCII bytes; below this, detection is noise (`报告` or `0.01%，成交量1` in GBK read as Big5)
DETECT_SAMPLE = 256 * 1024  # bytes charset-normalizer looks at; the winner must then decode the whole file
CHAOS_MARGIN = 0.02  # another encoding must read this much less chaotically than GB18030 to replace it


def _strict(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None


def _plausible(encoding: str, text: str) -> bool:
    """Japanese has kana and Korean has Hangul; a decoding without them is Chinese bytes misread."""
    han = sum(1 for c in text if "\u4e00" <= c <= "\u9fff")
    if encoding in ("shift_jis", "cp932", "euc_jp"):
        kana = sum(1 for c in text if "\u3040" <= c <= "\u30ff")
        return kana >= max(1, 0.05 * (kana + han))
    if encoding in ("euc_kr", "cp949"):
        hangul = sum(1 for c in text if "\uac00" <= c <= "\ud7a3")
        return hangul >= max(1, 0.3 * (hangul + han))
    return True


def _east_asian(data: bytes) -> tuple[str, str] | None:
    """GB18030 unless charset-normalizer finds Big5, Shift-JIS or EUC-JP clearly less chaotic.

    Every Big5 and most Shift-JIS byte pairs are also valid GB18030, so a strict GB18030 decode alone accepts them
    as garbage; the detector is asked first, except for strings too short for it to judge.
    """
    gb = _strict(data, "gb18030")
    if gb is not None and sum(1 for b in data[:4096] if b > 0x7F) < SHORT_BYTES:
        return gb, "gb18030"
    from charset_normalizer import from_bytes

    sample = data[:DETECT_SAMPLE]
    if len(data) > DETECT_SAMPLE:  # cut at a line end, so no multi-byte character is split
        sample = sample[: sample.rfind(b"\n") + 1] or sample
    chaos: dict[str, float] = {}
    for match in from_bytes(sample, cp_isolation=list(_CANDIDATES)):
        enc = "gb18030" if match.encoding in _GB_FAMILY else match.encoding
        chaos[enc] = min(chaos.get(enc, 1.0), match.chaos)
    alternatives = []
    for enc in sorted((e for e in chaos if e != "gb18030"), key=lambda e: (chaos[e], _rank(e))):
        text = _strict(data, enc)
        if text is not None and _plausible(enc, text) and _mostly_text(text):
            alternatives.append((enc, text))
    if gb is not None and _mostly_text(gb):
        if not alternatives or chaos.get("gb18030", 1.0) <= chaos[alternatives[0][0]] + CHAOS_MARGIN:
            return gb, "gb18030"
    if alternatives:
        enc, text = alternatives[0]
        return text, enc
    return None


def _rank(encoding: str) -> int:
    return _CANDIDATES.index(encoding) if encoding in _CANDIDATES else len(_CANDIDATES)


def _mostly_text(text: str) -> bool:
    """Reject decodings that are mostly control characters (binary files)."""
    if not text:
        return False
    bad = sum(1 for c in text if ord(c) < 32 and c not in "\r\n\t\f")
    return bad / len(text) < 0.01
