"""Page-wide CSS and the one script the UI needs: clicking an [n] marker opens and highlights its citation card.

Both are installed by the citation panel's `js_on_load` (gr.HTML), so the page works however it is mounted.
"""

from __future__ import annotations

import json

CSS = """
.rag-badge { margin-top: .5em; padding: .3em .6em; border-radius: 6px; font-size: .82em; line-height: 1.5;
  color: #334155; background: #eef2f7; border: 1px solid #d5dde8; display: inline-block; }
.rag-badge .b-cost { font-weight: 600; color: #0f5132; }
.rag-badge .b-why { color: #8a4b00; }
.rag-badge .b-warn { color: #b42318; }
a.cite-ref, #chat a.cite-ref { text-decoration: none !important; font-weight: 600; color: #1d4ed8 !important;
  padding: 0 1px; border-radius: 3px; cursor: pointer; }
a.cite-ref:hover, #chat a.cite-ref:hover { background: #dbeafe; }
.cite-panel { font-size: .92em; }
.cite-panel details.cite-turn > summary { font-weight: 600; margin: .4em 0; cursor: pointer; }
.cite-panel details.cite { border: 1px solid #d5dde8; border-radius: 8px; margin: .45em 0; padding: .35em .7em;
  background: #fff; transition: box-shadow .2s, border-color .2s; }
.cite-panel details.cite > summary { cursor: pointer; }
.cite-panel details.cite.active { border-color: #2563eb; box-shadow: 0 0 0 3px #bfdbfe; }
.cite-panel .cite-n { font-weight: 700; color: #1d4ed8; }
.cite-panel .cite-title { font-weight: 600; }
.cite-panel .cite-meta { color: #64748b; font-size: .85em; margin: .3em 0; }
.cite-panel .cite-text { line-height: 1.65; color: #1f2937; }
.cite-panel mark.support { background: #fde68a; padding: 0 2px; border-radius: 2px; }
.cite-panel .cite-empty { color: #64748b; }
"""

_SCRIPT = """
if (!window.__ragCitations) {
  window.__ragCitations = true;
  const style = document.createElement('style');
  style.id = 'rag-ui-style';
  style.textContent = CSS_TEXT;
  document.head.appendChild(style);
  // Capture phase: the chat bubble's own link handling never sees a click on an [n] marker.
  document.addEventListener('click', (ev) => {
    const a = ev.target && ev.target.closest ? ev.target.closest('a.cite-ref, a[href^="#cite-"]') : null;
    if (!a) return;
    ev.preventDefault();
    ev.stopPropagation();
    const id = (a.getAttribute('href') || '').replace(/^#/, '');
    const card = document.getElementById(id);
    if (!card) return;
    for (let p = card.parentElement; p; p = p.parentElement) { if (p.tagName === 'DETAILS') p.open = true; }
    card.open = true;
    document.querySelectorAll('details.cite.active').forEach((d) => d.classList.remove('active'));
    card.classList.add('active');
    card.scrollIntoView({behavior: 'smooth', block: 'nearest'});
  }, true);
}
"""

# The js_on_load of the citation panel: style + click handler, once per page.
ON_LOAD = _SCRIPT.replace("CSS_TEXT", json.dumps(CSS))
