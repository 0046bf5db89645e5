"""``python -m engine.cli`` runs the ``mtc`` command line."""

from .main import main

raise SystemExit(main())
