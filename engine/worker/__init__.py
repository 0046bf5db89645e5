"""The engine process: workers that claim queued stages from the store and train them.

Modules: ``runner`` (the worker loop), ``registry`` (which workers of a project are alive),
``heartbeat``, ``rows``, ``settings``, ``detach`` (start one detached). Queueing and
launching live in ``engine.stages.runs``. Import modules directly: importing this package
stays cheap (no torch) for the CLI and the notebook.
"""
