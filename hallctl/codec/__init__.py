"""Declarative frame codec (profiles in devices/*.yaml) and ESC/POS tickets."""
