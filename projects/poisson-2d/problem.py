from cfg import *

# -(u_xx + u_yy) = 2 pi^2 sin(pi x) sin(pi y) on the unit square, u = 0 on its boundary.
# Exact solution u = sin(pi x) sin(pi y).
[x, y], [u] = p.add_neural_network(name="NN", inputs=["x", "y"], outputs=["u"])

square = p.Rectangle("square", (0, 0), (1, 1))
interior = p.add_interior_subdomain("interior", geom=square)
boundary = p.add_boundary_subdomain("boundary", geom=square)

source = 2 * pi**2 * sin(pi * x) * sin(pi * y)
p.add_constraint("poisson", enforce(equation=Eq(-(u.diff(x, 2) + u.diff(y, 2)), source), on_domain=interior))
p.add_constraint("walls", enforce(equation=Eq(u, 0), on_domain=boundary))

p.set_reference(u=sin(pi * x) * sin(pi * y))  # every finished stage records its error against it
