from cfg import *

# An inverse problem: u'' = -k pi^2 sin(pi x) on [0, 1], u(0) = u(1) = 0, with k unknown.
# 50 noisy sensor readings of u (sensors.csv, made from u = 0.7 sin(pi x)) decide k: the
# stage learns the network and k together; the exact answer is k = 0.7.
[x], [u] = p.add_neural_network(name="NN", inputs=["x"], outputs=["u"])
k = p.add_unknown("k", initial=1.0, bounds=(0.01, 100))

geom = p.Line1D("geom", 0, 1)
interior = p.add_interior_subdomain("interior", geom=geom)
ends = p.add_boundary_subdomain("ends", geom=geom)

p.add_constraint("equation", enforce(equation=Eq(u.diff(x, 2), -k * pi**2 * sin(pi * x)), on_domain=interior))
p.add_constraint("ends", enforce(equation=Eq(u, 0), on_domain=ends))
p.add_data_constraint("sensors", model=u, data_fname="sensors.csv")
