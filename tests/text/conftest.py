"""tests/text: skipped as a whole when the ktrain-text plugin is not installed; shared
writers of small text files and the location of the shared real data."""
import os
from pathlib import Path

import pytest

pytest.importorskip("ktrain_text")

SHARED = Path(os.environ.get("KTRAIN_SHARED_DATA") or
              Path(__file__).resolve().parents[2].parent / "shared" / "data")

POS = ["a great phone", "i love it", "works great", "very good value", "love the screen",
       "great sound and good battery", "excellent and great", "good good good"]
NEG = ["a terrible phone", "i hate it", "broke fast", "very bad value", "awful screen",
       "bad sound and poor battery", "poor and terrible", "bad bad bad"]


@pytest.fixture
def shared_data():
    """The shared real data folder (skips when absent)."""
    if not SHARED.is_dir():
        pytest.skip(f"shared data not found at {SHARED}")
    return SHARED


@pytest.fixture
def sentiment_files(tmp_path):
    """Two header-less TSV files of 'sentence<TAB>label' lines (16 rows each)."""
    paths = []
    for k in range(2):
        lines = [f"{t} {k}\t1" for t in POS] + [f"{t} {k}\t0" for t in NEG]
        p = tmp_path / f"part{k}.txt"
        p.write_text("\n".join(lines) + "\n", encoding="utf-8")
        paths.append(p)
    return paths


@pytest.fixture
def corpus(tmp_path):
    """A small text file for language modeling."""
    text = ("the quick brown fox jumps over the lazy dog. " * 40 +
            "to be or not to be, that is the question. " * 40)
    p = tmp_path / "corpus.txt"
    p.write_text(text, encoding="utf-8")
    return p
