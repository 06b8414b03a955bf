"""Hydra config groups shipped by ktrain-vision (``data=cifar10``, ``model=resnet18`` ...);
ktrain adds ``pkg://ktrain_vision.conf`` to the search path when the plugin is installed."""
