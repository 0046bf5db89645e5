from cfg import *

# MTC's 1D wave equation: u_tt = c^2 u_xx on [0, pi] for t in [0, 2 pi], fixed ends,
# u(x, 0) = sin(x), u_t(x, 0) = sin(x); exact solution u = sin(x) (sin(t) + cos(t)).
# Sensor readings of u at a few places (sensors.csv) are fitted as a data constraint.
[x, t], [u] = p.add_neural_network(name="wave1d", inputs=["x", "t"], outputs=["u"])

L = float(pi)
c = 1.0
geom = p.Line1D("geom", 0, L)

interior = p.add_interior_subdomain("interior", geom=geom, params={t: (0, 2 * L)})
initial_t0 = p.add_interior_subdomain("initial_t0", geom=geom, params={t: (0, 0)})
boundary = p.add_boundary_subdomain("boundary", geom=geom, params={t: (0, 2 * L)})

wave_eq = Eq(u.diff(t, 2), (c**2 * u.diff(x)).diff(x))
p.add_constraint("wave_equation", enforce(equation=wave_eq, on_domain=interior))
p.add_constraint("initial_u", enforce(equation=Eq(u, sin(x)), on_domain=initial_t0))
p.add_constraint("initial_u_t", enforce(equation=Eq(u.diff(t), sin(x)), on_domain=initial_t0))
p.add_constraint("boundary", enforce(equation=Eq(u, 0), on_domain=boundary))
p.add_data_constraint("sensors", model=u, data_fname="sensors.csv")

p.set_reference(u=sin(x) * (sin(t) + cos(t)))
