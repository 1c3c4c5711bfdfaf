"""Decode text files in UTF-8, UTF-16 or the GB family, which Chinese reports still ship in."""

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
    # GB18030 is a superset of GBK and GB2312; a strict decode is a strong signal on CJK text.
    try:
        text = data.decode("gb18030")
        return text, "gb18030"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is not None and best.encoding and _mostly_text(str(best)):
        return str(best), best.encoding
    raise EncodingError(
        f"{name}: cannot decode the text (tried UTF-8, UTF-16, GB18030 and charset detection); "
        "save it as UTF-8 and ingest it again"
    )


def _mostly_text(text: str) -> bool:
    """Reject decodings that are mostly control characters (binary files)."""
    if not text:
        return False
    bad = sum(1 for c in text if ord(c) < 32 and c not in "\r\n\t\f")
    return bad / len(text) < 0.01
