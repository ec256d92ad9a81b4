"""hallctl: the controller daemon of a government service hall."""

__version__ = "0.1.0"
