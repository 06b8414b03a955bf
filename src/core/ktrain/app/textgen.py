"""Sample text from a trained language-model run (what ``ktrain generate`` runs).

Generic over plugins: the run's saved config rebuilds the model (``ktrain.registry.
MODELS``) and the dataset (for its ``encode``/``decode``: the vocabulary the run was
trained with); the checkpoint's weights are loaded and ``model.stream(...)`` (or
``model.generate(..., callback=...)``) yields the new tokens. User errors (missing run
directory or checkpoint, a model without ``generate``, a dataset without an encoder, a
prompt that encodes to nothing) raise :class:`~ktrain.config.ConfigError`.
"""
from __future__ import annotations

import inspect

__all__ = ["generate_run", "load_generator"]


def _strip_prefix(state: dict, model) -> dict:
    """The model's entries of a task state_dict (``model.x`` -> ``x``)."""
    own = set(model.state_dict())
    if own & set(state):
        return {k: v for k, v in state.items() if k in own}
    for prefix in ("model.", "net.", "module."):
        sub = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
        if sub and set(sub) & own:
            return sub
    return state


def load_generator(run, ckpt="auto", overrides=(), device="cpu", *, allow_targets=(),
                   trust_config: bool = False):
    """``(model, dataset, checkpoint path)`` of a run directory (or a checkpoint file):
    the model with the checkpoint's weights, in eval mode, and the run's dataset
    (val split, else train) whose ``encode``/``decode`` map text to ids and back.
    ``allow_targets``/``trust_config``: which ``_target_`` s of the run's config may be
    built (:func:`ktrain.app.evaluation.open_run`)."""
    from ..target_policy import use_policy
    from .evaluation import choose_checkpoint, open_run, resolve_run

    run_dir, given = resolve_run(run)
    ckpt_path = given if given is not None else choose_checkpoint(run_dir, ckpt)
    cfg, policy = open_run(run_dir, overrides, allow_targets=allow_targets,
                           trust_config=trust_config)
    with use_policy(policy):
        model, ds = _build_generator(cfg, run_dir, ckpt_path, device)
    return model, ds, ckpt_path


def _build_generator(cfg, run_dir, ckpt_path, device):
    from .config import ConfigError
    from ..registry import MODELS
    from ..train.checkpoint import load_checkpoint
    from .evaluation import _dataset
    from .run import _user_error

    try:
        model = MODELS.build(cfg.model.to_dict())
    except Exception as e:  # noqa: BLE001
        raise _user_error(f"model (model: {cfg.model.name})", e) from None
    if not (callable(getattr(model, "stream", None)) or
            callable(getattr(model, "generate", None))):
        raise ConfigError(f"the model of {run_dir} ({type(model).__name__}) cannot generate "
                          "text: it has no generate()/stream() method (a language-model "
                          "run such as conf/char_lm.yaml is needed)")
    try:
        state = load_checkpoint(ckpt_path)["state_dict"]
    except Exception as e:  # noqa: BLE001
        raise ConfigError(f"cannot read the checkpoint {ckpt_path}: {e}") from None
    model.load_state_dict(_strip_prefix(state, model))
    model = model.to(device)
    model.eval()
    ds = None
    for split in ("val", "train"):
        try:
            ds = _dataset(cfg, split)
        except Exception:  # noqa: BLE001 - try the next split
            ds = None
        if ds is not None:
            break
    if ds is None or not (callable(getattr(ds, "encode", None)) and
                          callable(getattr(ds, "decode", None))):
        raise ConfigError(f"the dataset of {run_dir} ({cfg.data.name}) has no encode()/"
                          "decode(): cannot turn the prompt into tokens")
    return model, ds


def generate_run(run, prompt: str, max_new_tokens: int = 200, temperature: float = 1.0,
                 top_k: int | None = None, top_p: float | None = None,
                 seed: int | None = None, ckpt="auto", overrides=(), device="cpu", *,
                 allow_targets=(), trust_config: bool = False):
    """Yield the decoded text of the continuation piece by piece (library side of
    ``ktrain generate``). Each piece is what the new token adds to the decoded text
    (a multi-byte character is held back until it is complete)."""
    from .config import ConfigError

    if int(max_new_tokens) < 0:
        raise ConfigError(f"--max-new-tokens must be >= 0, got {max_new_tokens}")
    if top_p is not None and not 0.0 < float(top_p) <= 1.0:
        raise ConfigError(f"--top-p must lie in (0, 1], got {top_p}")
    if top_k is not None and int(top_k) < 1:
        raise ConfigError(f"--top-k must be >= 1, got {top_k}")
    model, ds, _ = load_generator(run, ckpt, overrides, device, allow_targets=allow_targets,
                                  trust_config=trust_config)
    ids = list(ds.encode(prompt))
    if not ids:
        raise ConfigError(f"the prompt {prompt!r} encodes to no tokens; give a longer --prompt")
    kw = {"temperature": temperature, "top_k": top_k, "top_p": top_p, "seed": seed}
    gen = getattr(model, "stream", None) or model.generate
    n_vocab = getattr(ds, "vocab_size", None)
    if n_vocab is not None and "num_tokens" in inspect.signature(gen).parameters:
        kw["num_tokens"] = int(n_vocab)  # a model table larger than the vocabulary
    if callable(getattr(model, "stream", None)):
        steps = model.stream([ids], int(max_new_tokens), **kw)
    else:  # a model with generate(callback=...) only: collect, then yield
        got = []
        model.generate([ids], int(max_new_tokens), callback=got.append, **kw)
        steps = iter(got)
    # decode prompt + new tokens and print what the new ones add: word-level decoders
    # join with separators and byte-level ones complete characters across tokens
    base = ds.decode(ids)
    new, shown = [], base
    for step in steps:
        new.append(int(step[0]))
        text = ds.decode(ids + new)
        if text.endswith("\ufffd"):  # an incomplete multi-byte character: wait for more
            continue
        if text.startswith(shown):
            piece, shown = text[len(shown):], text
        else:  # a decoder that rewrote earlier text: print the whole new tail
            piece, shown = ds.decode(new), text
        if piece:
            yield piece
    text = ds.decode(ids + new) if new else shown
    if len(text) > len(shown) and text.startswith(shown):
        yield text[len(shown):]
