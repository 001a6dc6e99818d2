"""micrograd: a scalar autograd engine and a tiny neural-net library on top of it.

Introduced in Lesson 1 (micrograd). This package holds `Value` (engine.py),
`Neuron`, `Layer` and `MLP` (nn.py), and `draw_dot` (draw.py) for drawing the
computation graph behind a Value.
"""

from .draw import draw_dot
from .engine import Value
from .nn import MLP, Layer, Neuron

__all__ = ["Value", "Neuron", "Layer", "MLP", "draw_dot"]
