"""Results of trained stages: errors against the reference solution, comparison tables, sweeps'
rankings, pictures (plotly, static through kaleido) and the HTML report.

Modules: ``grid`` (where to draw), ``evaluation`` (the fixed evaluation set and errors),
``record`` (each finished stage's stored errors), ``compare`` (the compare table), ``solution``
and ``plots`` (figures), ``figures`` (writing them to PNG/SVG/HTML), ``report`` (one HTML page).
Plotting libraries are imported inside the functions that draw.
"""
