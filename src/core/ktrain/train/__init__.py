"""ktrain.train: the training engine (Trainer, Task, callbacks, loggers, checkpoints)."""
from .callbacks import Callback  # noqa: F401
from .loggers import Logger  # noqa: F401
