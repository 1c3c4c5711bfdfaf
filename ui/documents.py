"""The documents tab: upload with progress, a paged list of what is indexed, and delete."""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import gradio as gr

from ingest.registry import supported_exts, supported_summary
from rag.api.documents import public_doc, stored_name
from rag.api.gradio_files import is_uploaded
from rag.services.knowledge_bases import DEFAULT_KB
from ui.filters import FilterControls, refresh_pickers
from ui.kb import KbAccess, kb_picker, shown
from ui.render import as_text

PAGE_SIZE = 20
HEADERS = ["标题", "来源", "片段数", "入库时间（北京）", "编号"]
FILE_TYPES = supported_exts()  # from the reader registry, so a new format shows up here by itself


BEIJING = timezone(timedelta(hours=8))


def _when(value: Any) -> str:
    """An ingest time (epoch seconds or ISO 8601) as Beijing time, to the minute."""
    try:
        if isinstance(value, (int, float)):
            moment = datetime.fromtimestamp(value, tz=UTC)
        else:
            moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value or "")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")


def document_page(services: Any, page: int) -> tuple[list[list[Any]], list[tuple[str, str]], int, str]:
    """Rows and delete choices of one page (clamped to the pages there are), the page and its caption."""
    total = int(services.list_documents(offset=0, limit=1)["total"])
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(page, 1), pages)
    docs = services.list_documents(offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)["documents"]
    rows, choices = [], []
    for d in docs:
        doc_id = str(d.get("doc_id") or d.get("id"))
        shown = public_doc(d)  # an index from before sources were relative: its file name, not a server path
        rows.append([d["title"], shown["source"], d["chunks"], _when(d.get("ingested_at")), doc_id])
        choices.append((f"{d['title'][:30]}（{doc_id[:8]}）", doc_id))
    return rows, choices, page, f"共 {total} 篇文档 · 第 {page} / {pages} 页"


def ingest_report(name: str, report: dict[str, Any], stored_as: str | None = None) -> str:
    """One Markdown line per uploaded file: what was added, unchanged, replaced, or why it failed."""
    parts = []
    if stored_as and stored_as != name and report.get("added"):
        parts.append(f"已有同名的不同文档，另存为 {as_text(stored_as)}")
    if report.get("added"):
        parts.append(f"新增 {len(report['added'])} 篇（{report.get('chunks', 0)} 个片段）")
    if report.get("unchanged"):
        parts.append(f"{report['unchanged']} 篇已存在，未重复入库")
    if report.get("removed"):
        parts.append(f"替换旧版本 {len(report['removed'])} 篇")
    errors = [e["error"] for e in report.get("errors", [])]
    head = f"- 【{'失败' if errors else '成功'}】**{as_text(name)}**："  # Markdown: names are escaped as text
    return head + "；".join(parts + [as_text(e) for e in errors]) if parts or errors else head + "没有可入库的内容"


def documents_tab(access: KbAccess, filters: FilterControls) -> tuple[Any, gr.Dropdown, list[gr.components.Component]]:
    """Render the tab (inside the current Tab) and wire upload, paging and delete, each in the picked base.

    Returns the listing's refresh function `show(kb, page, request)`, the tab's base picker and the listing's
    outputs, for the page to run on load and when the base changes. Uploads and deletes need write access to
    the base (ui/kb.py), checked on every call.
    """
    page = gr.State(1)
    kb = kb_picker("docs-kb", "上传、列出和删除都在所选知识库中进行")
    gr.Markdown(f"#### 上传文档\n支持 {supported_summary()}（文本编码自动识别：UTF-8 / GBK / Big5 / UTF-16 等），"
                "可一次选择多个文件。")
    files = gr.File(label="选择文件", file_count="multiple", file_types=FILE_TYPES, type="filepath",
                    elem_id="upload-files")
    replace = gr.Checkbox(False, label="替换同名文档（不勾选时，同名的不同文件另存为“名称 (2)”）",
                          elem_id="upload-replace")
    upload = gr.Button("上传并入库", variant="primary", elem_id="upload")
    readonly = gr.Markdown("", elem_id="docs-readonly")  # says why upload and delete are greyed out
    status = gr.Markdown(elem_id="upload-status")
    gr.Markdown("#### 已入库的文档")
    # Empty until the page loads: the listing is of the base the login picks, never one it may not read.
    table = gr.Dataframe([], headers=HEADERS, interactive=False, wrap=True, elem_id="documents-table")
    with gr.Row():
        prev = gr.Button("上一页", size="sm")
        info = gr.Markdown("", elem_id="documents-caption")
        nxt = gr.Button("下一页", size="sm")
        refresh = gr.Button("刷新", size="sm")
    with gr.Row():
        target = gr.Dropdown([], value=None, label="选择要删除的文档（本页）", allow_custom_value=True,
                             elem_id="delete-target", scale=4)
        delete = gr.Button("删除", variant="stop", elem_id="delete", scale=1)

    def show(name: str | None, p: int, request: gr.Request):
        if name is None and not access.readable(request):
            return ([], gr.update(choices=[], value=None), 1, "当前登录的密钥没有可访问的知识库。",
                    *writing(False, ""))
        rows, choices, p, caption = document_page(access.read(request, name), p)
        kb_name = shown(name or DEFAULT_KB)
        return (rows, gr.update(choices=choices, value=None), p, f"知识库「{kb_name}」· {caption}",
                *writing(access.writable(request, name or DEFAULT_KB), kb_name))

    def writing(allowed: bool, kb_name: str) -> tuple:
        # greyed out for a login that may only read the base; the server refuses its uploads and deletes anyway
        note = "" if allowed or not kb_name else (f"当前登录的密钥只能读取知识库「{kb_name}」，"
                                                  "不能在其中上传或删除文档。")
        return gr.update(interactive=allowed), gr.update(interactive=allowed), note

    def ingest(paths: list[str] | None, replace_same: bool, p: int, name: str | None, request: gr.Request,
               progress: gr.Progress = gr.Progress()):  # noqa: B008 - Gradio's idiom
        services = access.write(request, name)  # before anything is read: a refused base reads no file
        if not paths:
            raise gr.Error("请先选择要上传的文件。")
        if not all(is_uploaded(path) for path in paths):  # the middleware refuses these first; never read them
            raise gr.Error("只能入库通过上传得到的文件。")
        limit_mb = services.settings.server.max_upload_mb  # the same limit POST /documents applies
        lines = []
        for path in progress.tqdm(paths, desc="入库中", unit="个文件"):
            fname, size = stored_name(Path(path).name), Path(path).stat().st_size
            if size > limit_mb * 2**20:
                lines.append(f"- 【失败】**{as_text(fname)}**：文件 {size / 2**20:.2f} MB，"
                             f"超过上传上限 {limit_mb:g} MB（server.max_upload_mb）")
                continue
            report = services.ingest_bytes(Path(path).read_bytes(), fname, replace=bool(replace_same))
            lines.append(ingest_report(fname, report.to_dict(), report.stored_as))
        return ("\n".join(lines), None, *show(name, p, request))

    def remove(doc_id: str | None, p: int, name: str | None, request: gr.Request):
        services = access.write(request, name)
        if not doc_id:
            raise gr.Error("请先选择要删除的文档。")
        if not services.delete_document(doc_id):
            raise gr.Error(f"文档 {shown(doc_id)} 不存在（可能已被删除）。")
        return (f"已删除文档 `{html.escape(doc_id)}`。", *show(name, p, request))

    def pickers(name: str | None, request: gr.Request):
        return refresh_pickers(access.read(request, name))

    listing = [table, target, page, info, upload, delete, readonly]
    # The base comes last in each event's inputs, so a payload from before bases gains one trailing value.
    upload.click(ingest, [files, replace, page, kb], [status, files, *listing], api_name=False).success(
        pickers, kb, filters.pickers, api_name=False)
    delete.click(remove, [target, page, kb], [status, *listing], api_name=False).success(
        pickers, kb, filters.pickers, api_name=False)

    def earlier(name: str | None, p: int, request: gr.Request):
        return show(name, p - 1, request)

    def later(name: str | None, p: int, request: gr.Request):
        return show(name, p + 1, request)

    prev.click(earlier, [kb, page], listing, api_name=False)
    nxt.click(later, [kb, page], listing, api_name=False)
    refresh.click(show, [kb, page], listing, api_name=False)
    return show, kb, listing
