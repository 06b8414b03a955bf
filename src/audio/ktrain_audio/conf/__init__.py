"""Config groups of ktrain-audio (data/, model/), found through pkg://ktrain_audio.conf."""
