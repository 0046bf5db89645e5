"""The ``mtc`` command line."""
