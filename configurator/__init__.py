"""The configurator: the notebook cockpit of an mtc project (ipywidgets, served by Voila too)."""

from .app import open_app

__all__ = ["open_app"]
