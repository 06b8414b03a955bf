"""``ktrain.optim``: optimizers and learning-rate schedulers (``torch.optim``'s names).

Every elementwise optimizer updates all parameters of a group with a few vectorised
array operations on flat buffers; see :mod:`ktrain.optim.optimizer`.
"""
from . import lr_scheduler  # noqa: F401
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam
from .adamax import Adamax
from .adamw import AdamW
from .lbfgs import LBFGS
from .nadam import NAdam
from .optimizer import Optimizer
from .radam import RAdam
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Adadelta", "Adagrad", "Adam", "Adamax", "AdamW", "LBFGS", "NAdam", "Optimizer",
           "RAdam", "RMSprop", "SGD", "lr_scheduler", "swa_utils"]


def __getattr__(name):
    # swa_utils needs ktrain.nn: loaded on first use
    if name == "swa_utils":
        import importlib

        return importlib.import_module(".swa_utils", __name__)
    raise AttributeError(f"module 'ktrain.optim' has no attribute {name!r}")
