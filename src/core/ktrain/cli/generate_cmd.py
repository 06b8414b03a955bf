"""``ktrain generate``: sample text from a trained language-model run, streamed to the
terminal token by token.

Generic over plugins: the run's saved config rebuilds the model (``ktrain.registry.
MODELS``) and the dataset (for its ``encode``/``decode``: the vocabulary the run was
trained with); the checkpoint's weights are loaded and ``model.stream(...)`` (or
``model.generate(..., callback=...)``) yields the new tokens.

Exit codes as for ``fit``: 0 success; 2 a user error (missing run directory or
checkpoint, a model without ``generate``, a dataset without an encoder, a prompt that
encodes to nothing); 1 a failure while running (``--debug`` shows its traceback).

Mounted on the main app with :func:`register` (``register(app)``).
"""
from __future__ import annotations

import sys
from typing import Annotated

import typer

from ..app.textgen import generate_run, load_generator  # noqa: F401 - their old home
from .eval_cmd import _CKPT_HELP
from .fit_cmd import _ALLOW_RUN_HELP, _TRUST_HELP, _fail

__all__ = ["generate_cmd", "generate_run", "register"]


def generate_cmd(
    run: Annotated[str, typer.Argument(
        metavar="RUN_DIR", help="A language-model run directory (or one of its checkpoint "
        "files).")],
    prompt: Annotated[str, typer.Option(
        "--prompt", "-p", help="The text to continue.")] = "\n",
    max_new_tokens: Annotated[int, typer.Option(
        "--max-new-tokens", "-n", help="How many tokens to generate.")] = 200,
    temperature: Annotated[float, typer.Option(
        "--temperature", "-t", help="Sampling temperature (0: greedy).")] = 1.0,
    top_k: Annotated[int | None, typer.Option(
        "--top-k", "-k", help="Sample among the k most likely tokens only.")] = None,
    top_p: Annotated[float | None, typer.Option(
        "--top-p", help="Nucleus sampling: the smallest set of tokens with this "
        "probability mass.")] = None,
    seed: Annotated[int | None, typer.Option(
        "--seed", help="Seed of the sampler (the same seed gives the same text).")] = None,
    ckpt: Annotated[str, typer.Option("--ckpt", help=_CKPT_HELP)] = "auto",
    device: Annotated[str, typer.Option(
        "--device", help="cpu or cuda[:N].")] = "cpu",
    no_prompt: Annotated[bool, typer.Option(
        "--no-prompt", help="Print only the generated text, not the prompt.")] = False,
    allow_target: Annotated[list[str] | None, typer.Option(
        "--allow-target", metavar="MODULE", help=_ALLOW_RUN_HELP)] = None,
    trust_config: Annotated[bool, typer.Option(
        "--trust-config", help=_TRUST_HELP)] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks.")] = False,
):
    """Generate text with a trained language model, streaming it as it is sampled.

    Example: [bold]ktrain generate outputs/char_lm/2026-01-01_12-00-00_000000
    --prompt "ROMEO:" --max-new-tokens 300 --top-k 10 --seed 0[/bold]
    """
    out = sys.stdout
    try:
        pieces = generate_run(run, prompt, max_new_tokens, temperature, top_k, top_p, seed,
                              ckpt, device=device, allow_targets=allow_target or (),
                              trust_config=trust_config)
        first = True
        for piece in pieces:
            if first and not no_prompt:
                out.write(prompt)
            first = False
            out.write(piece)
            out.flush()
        if first and not no_prompt:  # nothing generated (e.g. --max-new-tokens 0)
            out.write(prompt)
        out.write("\n")
        out.flush()
    except typer.Exit:
        raise
    except Exception as e:  # noqa: BLE001
        _fail(e, debug)


def register(app: typer.Typer) -> None:
    """Mount ``generate`` on ``app``."""
    app.command("generate")(generate_cmd)
