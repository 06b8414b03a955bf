"""Op families. Importing this package attaches every op's Tensor methods."""
from . import arith, compare, convert, einsum, index, indexing, join, linalg, math, reduce, shape  # noqa: F401
from . import scatter_gather, index_dim, masked, sorting, subscript  # noqa: F401
from . import rearrange, diagonals, padding  # noqa: F401
from .arith import *  # noqa: F401,F403
from . import piecewise  # noqa: F401
from .piecewise import *  # noqa: F401,F403
from .compare import *  # noqa: F401,F403
from .einsum import *  # noqa: F401,F403
from .scatter_gather import *  # noqa: F401,F403
from .index_dim import *  # noqa: F401,F403
from .masked import *  # noqa: F401,F403
from .sorting import *  # noqa: F401,F403
from .subscript import *  # noqa: F401,F403
from .join import *  # noqa: F401,F403
from .rearrange import *  # noqa: F401,F403
from .diagonals import *  # noqa: F401,F403
from .padding import *  # noqa: F401,F403
from .linalg import *  # noqa: F401,F403
from .math import *  # noqa: F401,F403
from .reduce import *  # noqa: F401,F403
from . import cumulative, extrema, softmax_family  # noqa: F401
from .cumulative import *  # noqa: F401,F403
from .extrema import *  # noqa: F401,F403
from .softmax_family import *  # noqa: F401,F403
from .shape import *  # noqa: F401,F403
