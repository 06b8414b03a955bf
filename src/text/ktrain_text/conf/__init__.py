"""Hydra config groups of the text plugin (found through pkg://ktrain_text.conf)."""
