"""mtc engine: the headless core (problem language, compilation, storage, training, CLI).

Nothing under ``engine`` imports the notebook stack (ipywidgets, plotly, voila).
"""

__version__ = "0.1.0"
