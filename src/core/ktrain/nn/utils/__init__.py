"""``ktrain.nn.utils``: gradient clipping, parameter/vector conversion, RNN packing, summary."""
from . import rnn  # noqa: F401
from .clip_grad import clip_grad_norm_, clip_grad_value_, get_total_norm  # noqa: F401
from .convert_parameters import parameters_to_vector, vector_to_parameters  # noqa: F401
from .summary import summary  # noqa: F401
from .weight_norm import remove_weight_norm, weight_norm  # noqa: F401
