"""The configurator: the notebook cockpit of an mtc project (ipywidgets, served by Voila too)."""

from .app import ConfiguratorApp, open_app

__all__ = ["ConfiguratorApp", "open_app"]
