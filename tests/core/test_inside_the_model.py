"""Inside the model: the logit lens and the attention weights, read from llama.cpp's own
graph, checked against the model's output and against a forward pass written here in
numpy (embedding, RMSNorm, rotary attention with grouped heads, SwiGLU), independent of
llama.cpp, on a tiny random-weight llama GGUF."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from fakehub.gguf_files import loadable_tiny_gguf

from app.core.gguf.gguf_file import GGUFFile, read_gguf
from app.core.inside.logit_lens import logit_lens
from app.core.inside.model_inspector import ModelInspector
from app.core.inside.output_head import UnsupportedModel, check_supported, load_output_head
from app.core.llama.engine import Engine
from app.core.llama.ggml_weights import as_float32

Array = npt.NDArray[np.float32]


@pytest.fixture(scope="module")
def inspector(engine: Engine) -> Iterator[ModelInspector]:
    inspector = ModelInspector(engine)
    yield inspector
    inspector.close()


def test_the_last_layers_lens_is_the_models_own_distribution(
    inspector: ModelInspector,
) -> None:
    ids = inspector.engine.tokenize_prompt("The capital of France is")
    lens = logit_lens(inspector, ids)
    last = lens.layers[-1]
    assert len(lens.layers) == 18 and last.layer == 18
    assert last.top[0].id == lens.model_top[0].id == lens.chosen.id
    assert len({t.id for t in last.top} & {t.id for t in lens.model_top}) >= 4
    model = {t.id: t.p for t in lens.model_top}
    assert max(abs(t.p - model[t.id]) for t in last.top if t.id in model) <= 2e-2
    # Where the answer forms: " Paris" leads at layer 13 of 18 on this prompt.
    paris = lens.layers[12].top[0]
    assert paris.piece == " Paris" and paris.p > 0.5


def test_the_chosen_token_is_followed_across_the_layers(inspector: ModelInspector) -> None:
    ids = inspector.engine.tokenize_prompt("The capital of France is Paris")
    lens = logit_lens(inspector, ids, position=len(ids) - 2)  # before " Paris"
    assert lens.chosen.piece == " Paris"  # the next token of the text, not the argmax
    assert [e.p_chosen for e in lens.layers][12] > 0.5
    assert len(lens.tokens) == len(ids) - 1


def test_attention_rows_are_causal_distributions(inspector: ModelInspector) -> None:
    ids = inspector.engine.tokenize_prompt("The capital of France is Paris, and of Italy")
    layers = inspector.attention(ids)
    n = len(ids)
    assert len(layers) == 18 and all(w.shape == (4, n, n) for w in layers)
    for weights in layers:
        assert np.allclose(weights.sum(axis=-1), 1.0, atol=1e-4)
        assert np.abs(np.triu(weights, k=1)).max() == 0.0  # nothing on later tokens
    assert [inspector.kv_head_of(h) for h in range(4)] == [0, 0, 0, 0]  # 4 heads, 1 kv
    windows = [inspector.sliding_window(layer) for layer in range(18)]
    assert windows == [None if layer % 6 == 5 else 512 for layer in range(18)]


def test_inspecting_never_changes_what_the_model_generates(
    inspector: ModelInspector, engine: Engine, prompt_ids: list[int]
) -> None:
    from app.core.decoding.decoding_settings import DecodingSettings
    from app.core.decoding.generation import generate

    settings = DecodingSettings(mode="greedy", max_tokens=6)
    before = generate(engine, prompt_ids, settings)
    logit_lens(inspector, prompt_ids)
    inspector.attention(prompt_ids[:40])
    after = generate(engine, prompt_ids, settings)
    assert [s.id for s in after.steps] == [s.id for s in before.steps]
    assert [s.p_model for s in after.steps] == [s.p_model for s in before.steps]


def test_an_architecture_the_views_cannot_read_is_named(tmp_path: Path) -> None:
    vocab_only = Path(__file__).resolve().parents[2] / "resources" / "tokenizers"
    gguf = read_gguf(vocab_only / "ggml-vocab-gpt-2.gguf", require_tensors=False)
    with pytest.raises(UnsupportedModel, match="do not support the gpt2 architecture yet"):
        check_supported(gguf)


def test_a_model_too_big_to_project_says_how_much_it_needs(model_path: Path) -> None:
    gguf = read_gguf(model_path)
    needs = r"needs 671\.1 MB for the output matrix as float32 \(262,144 tokens × 640\)"
    with pytest.raises(UnsupportedModel, match=needs):
        load_output_head(gguf, available=100 << 20)


# ---- an independent forward pass --------------------------------------------------------
def _rms(x: Array, weight: Array, eps: float) -> Array:
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * weight  # type: ignore[no-any-return]


def _rope(x: Array, positions: npt.NDArray[np.int64], base: float) -> Array:
    """llama.cpp's "normal" rotary embedding (llama): adjacent pairs rotate together."""
    dim = x.shape[-1]
    freqs = base ** (-np.arange(0, dim, 2, dtype=np.float64) / dim)
    angles = positions[:, None].astype(np.float64) * freqs[None, :]
    cos, sin = np.cos(angles)[:, None, :], np.sin(angles)[:, None, :]
    even, odd = x[..., 0::2], x[..., 1::2]
    out = np.empty_like(x)
    out[..., 0::2] = even * cos - odd * sin
    out[..., 1::2] = even * sin + odd * cos
    return out


def _forward(gguf: GGUFFile, ids: list[int]) -> tuple[list[Array], list[Array]]:
    """Every layer's output (n, n_embd) and attention weights (n_head, n, n)."""
    path = Path(gguf.path)

    def w(name: str) -> Array:
        info = next(t for t in gguf.tensors if t.name == name)
        return as_float32(path, info).astype(np.float64)

    n_head = int(gguf.arch_value("attention.head_count"))
    n_kv = int(gguf.arch_value("attention.head_count_kv"))
    eps = float(gguf.arch_value("attention.layer_norm_rms_epsilon"))
    x = w("token_embd.weight")[ids]
    n, embd = x.shape
    dim = embd // n_head
    positions = np.arange(n)
    states, attention = [], []
    for layer in range(int(gguf.arch_value("block_count"))):
        p = f"blk.{layer}."
        h = _rms(x, w(p + "attn_norm.weight"), eps)
        q = _rope((h @ w(p + "attn_q.weight").T).reshape(n, n_head, dim), positions, 10000.0)
        k = _rope((h @ w(p + "attn_k.weight").T).reshape(n, n_kv, dim), positions, 10000.0)
        v = (h @ w(p + "attn_v.weight").T).reshape(n, n_kv, dim)
        # llama.cpp keeps keys and values in its cache as float16 (its default cache type),
        # and a product with a float16 matrix rounds the other side to float16 too.
        k, v, q = (a.astype(np.float16).astype(np.float64) for a in (k, v, q))
        group = n_head // n_kv
        scores = np.einsum("ihd,jhd->hij", q, np.repeat(k, group, axis=1)) / np.sqrt(dim)
        scores = np.where(np.tril(np.ones((n, n), dtype=bool)), scores, -np.inf)
        weights = np.exp(scores - scores.max(axis=-1, keepdims=True))
        weights /= weights.sum(axis=-1, keepdims=True)
        rounded = weights.astype(np.float16).astype(np.float64)
        mixed = np.einsum("hij,jhd->ihd", rounded, np.repeat(v, group, axis=1)).reshape(n, embd)
        x = x + mixed @ w(p + "attn_output.weight").T
        h = _rms(x, w(p + "ffn_norm.weight"), eps)
        gate = h @ w(p + "ffn_gate.weight").T
        x = (
            x
            + ((gate / (1 + np.exp(-gate))) * (h @ w(p + "ffn_up.weight").T))
            @ w(p + "ffn_down.weight").T
        )
        states.append(x)
        attention.append(weights)
    return states, attention


def test_the_captured_states_and_weights_match_a_numpy_forward_pass(tmp_path: Path) -> None:
    path = tmp_path / "tiny-random-llama.gguf"
    path.write_bytes(loadable_tiny_gguf(seed=3, layers=3, embd=32))
    ids = [1, 260, 300, 270, 280, 310, 265]
    with Engine(path) as engine:
        inspector = ModelInspector(engine)
        try:
            states, logits = inspector.residual_states(ids)
            captured = inspector.attention(ids)
            assert [inspector.kv_head_of(h) for h in range(4)] == [0, 0, 1, 1]
            head = inspector.output_head()
        finally:
            inspector.close()
    expected_states, expected_weights = _forward(read_gguf(path), ids)
    for layer, expected in enumerate(expected_states):
        assert np.allclose(states[layer], expected[-1], rtol=1e-3, atol=1e-3), layer
    for layer, expected in enumerate(expected_weights):
        assert np.allclose(captured[layer], expected, atol=1e-4), layer
    # The last layer through the output head is what llama.cpp computed as logits.
    assert np.allclose(head.logits(states[-1:])[0], logits, atol=1e-3)
