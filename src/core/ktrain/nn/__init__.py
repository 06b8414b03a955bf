"""``ktrain.nn``: modules, parameters, functional API, init and utils (PyTorch's names)."""
from . import functional, init, utils  # noqa: F401
from .module import Module, register_module_forward_hook, register_module_forward_pre_hook  # noqa: F401
from .modules import *  # noqa: F401,F403
from .parameter import Buffer, Parameter, UninitializedParameter  # noqa: F401
