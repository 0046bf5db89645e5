"""The engine process: workers that claim queued stages from the store and train them.

Modules: ``submit`` (queue stages with their ancestors), ``runner`` (the worker loop),
``launch`` (start worker processes), ``registry`` (which workers are alive),
``heartbeat``, ``rows``, ``settings``. Import them directly: importing this package
stays cheap (no torch) for the CLI and the notebook.
"""
