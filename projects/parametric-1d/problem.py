from cfg import *

# A family of problems in one network: u'' = -a on [0, 1], u(0) = u(1) = 0, for every a in [1, 3].
# The load a is a network input sampled as a parameter; exact solution u = a x (1 - x) / 2.
[x, a], [u] = p.add_neural_network(name="NN", inputs=["x", "a"], outputs=["u"])

loads = {a: (1, 3)}
geom = p.Line1D("rod", 0, 1)
interior = p.add_interior_subdomain("interior", geom=geom, params=loads)
ends = p.add_boundary_subdomain("ends", geom=geom, params=loads)

p.add_constraint("equilibrium", enforce(equation=Eq(u.diff(x, 2), -a), on_domain=interior))
p.add_constraint("fixed_ends", enforce(equation=Eq(u, 0), on_domain=ends))

p.set_reference(u=a * x * (1 - x) / 2)
