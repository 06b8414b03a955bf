"""ktrain.train: the training engine (Trainer, Task, callbacks, loggers, checkpoints).

``Trainer`` runs a ``Task`` (a Module with training/validation steps and its optimizers):
``Trainer(max_epochs=10).fit(ClassificationTask(model), train_loader, val_loader)``.
The public names of ``ktrain.train.callbacks`` and ``ktrain.train.loggers`` are
re-exported here.
"""
from . import callbacks, loggers  # noqa: F401
from ._state import seed_everything  # noqa: F401
from .callbacks import *  # noqa: F401,F403
from .callbacks import Callback  # noqa: F401
from .loggers import *  # noqa: F401,F403
from .loggers import Logger  # noqa: F401
from .task import ClassificationTask, RegressionTask, Task  # noqa: F401
from .trainer import Trainer  # noqa: F401

__all__ = ["Trainer", "Task", "ClassificationTask", "RegressionTask", "seed_everything",
           "Callback", "Logger",
           *[n for n in getattr(callbacks, "__all__", ()) if n != "Callback"],
           *[n for n in getattr(loggers, "__all__", ()) if n != "Logger"]]
