from cfg import *

# u'' = f on [0, 1] with u(0) = u(1) = 0 as an ordinary (soft) boundary constraint, where
# f = -(2 pi)^2 sin(2 pi x) - 0.2 (6 pi)^2 sin(6 pi x). Exact solution: u = sin(2 pi x) + 0.2 sin(6 pi x).
# Unlike precision-1d, the boundary values are a loss term: an error a + b x, which u'' cannot
# see, is held down only by the boundary constraint's share of the loss.
[x], [u] = p.add_neural_network(name="NN", inputs=["x"], outputs=["u"])

geom = p.Line1D("geom", 0, 1)
interior = p.add_interior_subdomain("interior", geom=geom)
ends = p.add_boundary_subdomain("ends", geom=geom)

source = -(2 * pi) ** 2 * sin(2 * pi * x) - 0.2 * (6 * pi) ** 2 * sin(6 * pi * x)
p.add_constraint("poisson", enforce(equation=Eq(u.diff(x, 2), source), on_domain=interior))
p.add_constraint("boundary", enforce(equation=Eq(u, 0), on_domain=ends))
