"""The local federation on one machine, and the demo that runs on it.

With the command line, the only room that may import every service: it wires nodes,
federation services and a gateway together on loopback.
"""

from cets.demo._demo import DemoError, run_demo

__all__ = ["DemoError", "run_demo"]
