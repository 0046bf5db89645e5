from cfg import *

# u'' = f on [0, 1] with u(0) = u(1) = 0, where f = -(2 pi)^2 sin(2 pi x) - 0.1 (8 pi)^2 sin(8 pi x).
# Exact solution: u = sin(2 pi x) + 0.1 sin(8 pi x).
# The network learns v; u = x (1 - x) v meets both boundary conditions exactly, so the only
# loss is the equation's residual and precision is not capped by a boundary penalty.
[x], [v] = p.add_neural_network(name="NN", inputs=["x"], outputs=["v"])
u = p.add_submodel("u", x * (1 - x) * v)

geom = p.Line1D("geom", 0, 1)
interior = p.add_interior_subdomain("interior", geom=geom)

source = -(2 * pi) ** 2 * sin(2 * pi * x) - 0.1 * (8 * pi) ** 2 * sin(8 * pi * x)
p.add_constraint("poisson", enforce(equation=Eq(u.diff(x, 2), source), on_domain=interior))

p.set_reference(u=sin(2 * pi * x) + 0.1 * sin(8 * pi * x))
