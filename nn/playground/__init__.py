"""The live playground: train a small net on the engine and see every neuron, weight and gradient.

Settings holds every control (and is the page's URL query); Session trains one learner's model
and gives each view's numbers. The web server is apart, and imported only when started.
"""

from .session import Session
from .settings import Settings

__all__ = ["Session", "Settings"]
