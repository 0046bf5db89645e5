from cfg import *

# MTC's chapter 1: u'' + 1 = 0 on [0, 1], u(0) = u(1) = 0; exact solution u = x (1 - x) / 2.
[x], [u] = p.add_neural_network(name="NN", inputs=["x"], outputs=["u"])

geom = p.Line1D("geom", 0, 1)
interior = p.add_interior_subdomain("interior", geom=geom)
boundary = p.add_boundary_subdomain("boundary", geom=geom)

p.add_constraint("diffusion", enforce(equation=Eq(u.diff(x, 2) + 1, 0), on_domain=interior))
p.add_constraint("ends", enforce(equation=Eq(u, 0), on_domain=boundary))

p.set_reference(u=x * (1 - x) / 2)
