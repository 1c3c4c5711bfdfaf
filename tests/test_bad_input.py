"""Malformed input: ≥30 generated kinds through the readers, the CLI and POST /documents (issue 8)."""

from __future__ import annotations

import asyncio
import gzip
import io
import os
import random
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import httpx
import pytest

from ingest.errors import IngestError
from ingest.readers import read_bytes
from rag.app import create_app
from rag.container import Services
from tests.conftest import ROOT, make_docx, make_pdf, make_settings
from tests.office_files import make_epub, make_pptx, make_xlsx, text_image
from tests.test_crash import _env

ZH = "新能源汽车销量同比增长百分之三十，企业发布季度财报显示营收和利润均创新高。"
GOOD = {"good1.txt": "宁德时代发布神行超充电池，充电10分钟可行驶400公里。".encode(),
        "good2.md": "# 比亚迪\n比亚迪八月新能源汽车销量达到27.4万辆。".encode()}


def one_line(size: int) -> bytes:
    """One line of `size` bytes with no punctuation or newline for the chunker to break at."""
    return (ZH.replace("，", "").replace("。", "") * (size // 60 + 1)).encode()[: size // 3 * 3]



def _pdf_bytes(writer) -> bytes:
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def _encrypted_pdf() -> bytes:
    from pypdf import PdfReader, PdfWriter

    w = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf([ZH]))))
    w.encrypt(user_password="secret", owner_password="owner")
    return _pdf_bytes(w)


def _blank_pdf() -> bytes:
    from pypdf import PdfWriter

    w = PdfWriter()
    w.add_blank_page(595, 842)
    return _pdf_bytes(w)


def _zip(files: dict[str, bytes], level: int = 9) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as z:
        for n, d in files.items():
            z.writestr(n, d)
    return buf.getvalue()


def _docx_bomb() -> bytes:
    good = zipfile.ZipFile(io.BytesIO(make_docx([ZH])))
    files = {n: good.read(n) for n in good.namelist()}
    doc = files["word/document.xml"]
    files["word/document.xml"] = doc.replace(b"</w:body>", b"<!--" + b"0" * (64 * 2**20) + b"--></w:body>")
    return _zip(files)  # document.xml unpacks to 64 MB at ~1000x compression


def _docx_xml_bomb() -> bytes:
    good = zipfile.ZipFile(io.BytesIO(make_docx([ZH])))
    files = {n: good.read(n) for n in good.namelist()}
    ents = '<!DOCTYPE lolz [<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol%s;" % (i - 1 if i else "")) * 10}">' for i in range(1, 10)) + "]>"
    body = files["word/document.xml"].decode().split("?>", 1)[1].replace("</w:t>", "&lol9;</w:t>", 1)
    files["word/document.xml"] = (ents.replace("&lol0;", "&lol;") + body).encode()
    return _zip(files)


def _pptx_bomb() -> bytes:
    good = zipfile.ZipFile(io.BytesIO(make_pptx([{"title": ZH}])))
    files = {n: good.read(n) for n in good.namelist()}
    files["ppt/slides/slide1.xml"] = files["ppt/slides/slide1.xml"] + b"<!--" + b"0" * (64 * 2**20) + b"-->"
    return _zip(files)


def _xlsx_entity_bomb() -> bytes:
    good = zipfile.ZipFile(io.BytesIO(make_xlsx({"表": [["列", "值"], ["a", ZH]]})))
    files = {n: good.read(n) for n in good.namelist()}
    sheet = files["xl/worksheets/sheet1.xml"].decode().split("?>", 1)[-1]
    files["xl/worksheets/sheet1.xml"] = ('<!DOCTYPE x [<!ENTITY a "' + "A" * 64 + '">]>' + sheet).encode()
    return _zip(files)


def cases() -> list[tuple[str, str, bytes, str]]:
    """(kind, file name, bytes, expected): an error word, or `ok:` and text the document must contain."""
    rng = random.Random(8)
    junk = bytes(rng.getrandbits(8) for _ in range(4096))
    pdf = make_pdf([ZH])
    docx = make_docx([ZH])
    xlsx = make_xlsx({"销量": [["城市", "销量"], ["深圳", "31.2万辆"]]})
    pptx = make_pptx([{"title": ZH}])
    png = text_image(["Battery prices fell"])
    return [
        ("empty file", "empty.txt", b"", "empty"),
        ("whitespace only", "blank.txt", b"  \n\t \r\n ", "empty"),
        ("NUL bytes only", "nuls.txt", b"\0" * 512, "empty"),
        ("UTF-8 BOM only", "bom.txt", b"\xef\xbb\xbf", "empty"),
        ("binary junk named .pdf", "junk.pdf", junk, "PDF"),
        ("truncated PDF", "truncated.pdf", pdf[: len(pdf) // 3], "PDF"),
        ("PDF header only", "header.pdf", b"%PDF-1.7\n", "PDF"),
        ("encrypted PDF", "encrypted.pdf", _encrypted_pdf(), "encrypted"),
        ("PDF without a text layer", "scan.pdf", _blank_pdf(), "text layer"),
        ("DOCX bytes named .pdf", "word.pdf", docx, "PDF"),
        ("binary junk named .docx", "junk.docx", junk, "DOCX"),
        ("truncated DOCX", "truncated.docx", docx[: len(docx) // 2], "DOCX"),
        ("zip without a document part", "nodoc.docx", _zip({"hello.txt": b"hi"}), "DOCX"),
        ("DOCX zip bomb", "bomb.docx", _docx_bomb(), "DOCX"),
        ("DOCX XML entity bomb", "lol.docx", _docx_xml_bomb(), "DOCX"),
        ("DOCX with no text", "nothing.docx", make_docx([" "]), "no text"),
        ("binary junk named .txt", "junk.txt", junk, "decode"),
        ("PNG named .txt", "image.txt", b"\x89PNG\r\n\x1a\n" + junk, "decode"),
        ("gzip named .txt", "archive.txt", gzip.compress(junk), "decode"),
        ("binary junk without extension", "README", junk, "decode"),
        ("unsupported extension", "archive.zip", _zip({"hello.txt": b"hi"}), "unsupported"),
        ("executable", "tool.exe", b"MZ" + junk, "unsupported"),
        ("HTML that is only scripts", "scripts.html", b"<html><head><script>alert(1)</script></head><body>"
         b"<script>document.write('x')</script><style>p{}</style></body></html>", "no visible text"),
        ("markdown of whitespace", "blank.md", b"\n\n   \n", "empty"),
        ("news record without a body", "news.txt", "标题: 只有标题\n链接: http://x\n关键词: 无\n".encode(),
         "ok:只有标题"),
        ("control characters only", "ctrl.txt", bytes(range(1, 9)) * 64, "no text"),
        # accepted, correctly decoded or cleaned
        ("GBK text in a .txt", "gbk.txt", ZH.encode("gbk"), "ok:" + ZH[:10]),
        ("GBK text named .md", "gbk.md", ("# 报告\n" + ZH).encode("gbk"), "ok:" + ZH[:10]),
        ("UTF-16LE without BOM", "u16.txt", ZH.encode("utf-16-le"), "ok:" + ZH[:10]),
        ("UTF-16BE without BOM", "u16be.txt", ZH.encode("utf-16-be"), "ok:" + ZH[:10]),
        ("UTF-16 with BOM", "u16bom.txt", ZH.encode("utf-16"), "ok:" + ZH[:10]),
        ("text with control characters", "ctrl2.txt", ("\x07\x1b[31m" + ZH + "\x00\x0b").encode(), "ok:" + ZH[:10]),
        ("HTML full of scripts", "page.html", ("<html><body>" + "<script>steal()</script>" * 200 + f"<p>{ZH}</p>"
                                              + "<script>more()</script></body></html>").encode(), "ok:" + ZH[:10]),
        ("unclosed HTML tags", "broken.html", f"<html><body><div><p>{ZH}<b><i>".encode(), "ok:" + ZH[:10]),
        ("deeply nested HTML", "deep.html", ("<div>" * 5000 + ZH + "</div>" * 5000).encode(), "ok:" + ZH[:10]),
        ("PDF named .txt", "report.txt", pdf, "ok:新能源"),
        ("a 512 KB line without punctuation", "oneline.txt", one_line(2**19), "ok:新能源"),
        # the formats of issue 13
        ("zip with a fake workbook part", "sheet.xlsx", _zip({"xl/workbook.xml": b"<x/>"}), "XLSX"),
        ("truncated XLSX", "cut.xlsx", xlsx[: len(xlsx) // 2], "XLSX"),
        ("XLSX XML entity bomb", "lol.xlsx", _xlsx_entity_bomb(), "entity"),
        ("XLSX without cells", "nocells.xlsx", make_xlsx({"空": []}), "no cells"),
        ("binary junk named .pptx", "junk.pptx", junk, "PPTX"),
        ("PPTX zip bomb", "bomb.pptx", _pptx_bomb(), "zip bomb"),
        ("PPTX with no text", "blank.pptx", make_pptx([{"title": ""}]), "no text"),
        ("truncated PNG", "cut.png", png[: len(png) // 2], "decode"),
        ("JPEG header only", "head.jpg", b"\xff\xd8\xff\xe0" + bytes(16), "decode"),
        ("image without text", "white.png", text_image([]), "no text"),
        ("EPUB without a package document", "nopkg.epub", _zip({"mimetype": b"application/epub+zip"}), "EPUB"),
        ("CSV of delimiters only", "commas.csv", b",,,\n,,\n , ,\n", "no cells"),
        ("mail with no headers", "nohead.eml", "只是一些文字，没有邮件头。".encode(), "not an e-mail"),
        ("PPTX named .xlsx", "slides.xlsx", pptx, "XLSX"),
        ("XLSX named .txt", "sheet.txt", xlsx, "ok:深圳"),
        ("EPUB named .txt", "book.txt", make_epub("书", [("一", "宁德时代发布神行超充电池。")]), "ok:神行"),
    ]


CASES = cases()
REJECTED = [c for c in CASES if not c[3].startswith("ok:")]


def test_the_corpus_has_thirty_kinds():
    # the 37 kinds of issue 8 and 16 of issue 13, plus: over the size limit, duplicate uploads at once, a `../` name
    assert len(CASES) + 3 >= 53
    assert len({c[1] for c in CASES}) == len(CASES)


@pytest.mark.parametrize(("kind", "name", "data", "expected"), CASES, ids=[c[0] for c in CASES])
def test_reader_refuses_with_a_specific_error_or_reads_it_right(kind, name, data, expected):
    if expected.startswith("ok:"):
        docs = read_bytes(data, name)
        text = "\n".join(d.text for d in docs)
        assert expected[3:] in text
        assert not any(ord(ch) < 32 and ch not in "\t\n\r\f" for ch in text), "control characters kept"
        assert "steal()" not in text and "more()" not in text
    else:
        with pytest.raises(IngestError) as err:
            read_bytes(data, name)
        assert expected in str(err.value) and name in str(err.value)


def _write_all(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for _, name, data, _ in CASES:
        (folder / name).write_bytes(data)
        paths.append(folder / name)
    for name, data in GOOD.items():
        (folder / name).write_bytes(data)
        paths.append(folder / name)
    big = folder / "big.txt"  # sparse: 51 MB on paper, refused on its size before it is read
    with big.open("wb") as fh:
        fh.truncate(51 * 2**20)
    return [*paths, big]


def test_cli_reports_each_bad_file_and_ingests_the_rest(tmp_path):
    env = _env(tmp_path, tmp_path / "data")
    keep = tmp_path / "keep.txt"
    keep.write_text("华为发布盘古大模型3.0，面向政务、金融、制造等行业。", encoding="utf-8")
    rag = [sys.executable, "-m", "rag.cli"]
    assert subprocess.run([*rag, "ingest", str(keep)], env=env, cwd=ROOT, timeout=300).returncode == 0
    paths = _write_all(tmp_path / "in")
    proc = subprocess.run([*rag, "ingest", *map(str, paths)], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    accepted = [c for c in CASES if c[3].startswith("ok:")]
    assert proc.returncode == 0, proc.stderr[-3000:]  # something was added, so the batch succeeded
    added, unchanged = map(int, re.search(r"added (\d+) document.*unchanged (\d+)", proc.stdout).groups())
    assert added + unchanged == len(accepted) + len(GOOD)  # the same text in several encodings is one document
    errors = [ln for ln in proc.stderr.splitlines() if ln.strip().startswith("error:")]
    assert len(errors) == len(REJECTED) + 1
    for _, name, _, word in [*REJECTED, ("", "big.txt", b"", "limit")]:
        assert any(name in ln and word in ln for ln in errors), (name, word)
    only_bad = subprocess.run([*rag, "ingest", str(tmp_path / "in" / "junk.pdf")], env=env, cwd=ROOT,
                              capture_output=True, text=True, timeout=300)
    assert only_bad.returncode == 1 and "not a readable PDF" in only_bad.stderr
    with Services(make_settings(tmp_path / "data")) as svc:  # nothing already indexed was lost
        top = svc.library.keywords.search("盘古大模型", 1)[0][0]
        assert "盘古大模型" in svc.library.vectors.get([top])[0].text
        assert svc.library.check()["consistent"]


@pytest.fixture
def client(tmp_path):
    app = create_app(make_settings(tmp_path / "data"), ui=False)
    transport = httpx.ASGITransport(app=app)
    yield httpx.AsyncClient(transport=transport, base_url="http://test", timeout=600)
    app.state.services.close()


def _upload(client: httpx.AsyncClient, files: list[tuple[str, bytes]]) -> httpx.Response:
    return asyncio.run(client.post("/documents", files=[("files", (n, d)) for n, d in files]))


def test_http_upload_gives_each_bad_file_a_clear_error_and_keeps_the_rest(client):
    first = _upload(client, [("keep.txt", "华为发布盘古大模型3.0，面向政务、金融、制造等行业。".encode())])
    assert first.status_code == 200 and len(first.json()["added"]) == 1
    batch = [(n, d) for _, n, d, _ in CASES] + list(GOOD.items())
    resp = _upload(client, batch)
    assert resp.status_code == 200, resp.text[:500]
    report = resp.json()
    assert len(report["added"]) + report["unchanged"] == len(CASES) - len(REJECTED) + len(GOOD)
    assert len(report["errors"]) == len(REJECTED)
    for _, name, _, word in REJECTED:
        assert any(name in e["path"] and word in e["error"] for e in report["errors"]), (name, word)
    for _, name, data, _ in REJECTED[:8]:  # alone, each is refused with its own message, never a 5xx
        one = _upload(client, [(name, data)])
        assert 200 <= one.status_code < 500
        body = one.json()
        assert (body.get("errors") or [{"error": body.get("detail", "")}])[0]["error"]
    docs = asyncio.run(client.get("/documents")).json()
    assert len(docs["documents"]) == 1 + len(report["added"])
    assert asyncio.run(client.get("/documents/check")).json()["consistent"]


def test_http_upload_over_the_limit_is_413(client):
    resp = _upload(client, [("big.txt", b"a" * (51 * 2**20))])
    assert resp.status_code == 413 and "limit" in resp.json()["detail"]


def test_duplicate_uploads_at_once_store_one_document(client):
    data = "宁德时代发布神行超充电池，充电10分钟可行驶400公里。".encode()

    async def both():
        return await asyncio.gather(*(client.post("/documents", files=[("files", ("same.txt", data))])
                                      for _ in range(4)))

    reports = [r.json() for r in asyncio.run(both())]
    assert sum(len(r["added"]) for r in reports) == 1 and sum(r["unchanged"] for r in reports) == 3
    check = asyncio.run(client.get("/documents/check")).json()
    assert check["consistent"] and check["documents"] == 1


def test_traversal_file_name_never_writes_outside(client, tmp_path):
    names = [f"escape-{os.getpid()}-{i}.txt" for i in range(2)]
    resp = _upload(client, [(f"../../{names[0]}", "比亚迪八月新能源汽车销量达到27.4万辆。".encode()),
                            (f"..\\..\\{names[1]}", "第二个文件的内容。".encode())])
    assert resp.status_code < 500
    places = [tmp_path, *tmp_path.parents, ROOT, *ROOT.parents, Path.cwd(), *Path.cwd().parents]
    assert not [p / n for p in places for n in names if (p / n).exists()]


@pytest.mark.slow
def test_a_single_5_mb_line_is_ingested(tmp_path):
    with Services(make_settings(tmp_path / "data")) as svc:
        report = svc.ingest_bytes(one_line(5 * 2**20), "oneline5mb.txt")
        assert not report.errors and report.chunks > 1000
        assert svc.library.check()["consistent"]
