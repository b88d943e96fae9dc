"""dezero: reverse-mode automatic differentiation on NumPy arrays.

>>> import numpy as np
>>> from dezero import Variable
>>> x = Variable(np.array(2.0))
>>> y = (x + 3) ** 2
>>> y.backward()
>>> y, x.grad
(variable(25.0), variable(10.0))
"""

import dezero.functions  # noqa: E402,F401 - the operators of Variable call into it
import dezero.operators  # noqa: F401 - gives Variable its + - * / ** operators
import dezero.utils  # noqa: E402,F401
from dezero._version import __version__
from dezero.backprop import gradients
from dezero.core import (
    Config,
    Function,
    Variable,
    as_array,
    as_variable,
    no_grad,
    setup_variable,
    using_config,
)
from dezero.series import derivative, taylor

__all__ = [
    "__version__",
    "Config",
    "Function",
    "Variable",
    "as_array",
    "as_variable",
    "derivative",
    "gradients",
    "no_grad",
    "setup_variable",
    "taylor",
    "using_config",
]
