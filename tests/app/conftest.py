"""Shared set-up of the application-layer tests: each runs in its own temporary
directory with plugin autoloading off."""
import pytest


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KTRAIN_DISABLE_PLUGIN_AUTOLOAD", "1")
