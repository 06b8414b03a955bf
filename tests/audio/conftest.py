"""tests/audio: skipped as a whole when the ktrain-audio plugin is not installed."""
import pytest

pytest.importorskip("ktrain_audio")
pytest.importorskip("soundfile")
