from cfg import *

# Define the PINN problem of project %%projname%% here, then run `mtc show problem`.
#
# 1. Networks: variables and unknown functions, e.g.
#    [x, y], [u] = p.add_neural_network(name="NN", inputs=["x", "y"], outputs=["u"])
#
# 2. Geometries, e.g.
#    geom = p.Rectangle("rect", (0, 0), (1, 1))
#
# 3. Subdomains (a geometry's interior or boundary, with extra variables and criteria), e.g.
#    interior = p.add_interior_subdomain("interior", geom=geom)
#    boundary = p.add_boundary_subdomain("boundary", geom=geom, criteria=y > 0)
#
# 4. (Optional) submodels, e.g.
#    flux = p.add_submodel("flux", -u.diff(x))
#
# 5. Constraints, e.g.
#    p.add_constraint("pde", enforce(equation=Eq(u.diff(x, 2) + u.diff(y, 2), -1), on_domain=interior))
#    p.add_constraint("wall", enforce(equation=Eq(u, 0), on_domain=boundary))
#    p.add_data_constraint("measured", model=u, data_fname="measurements.csv")
#
# 6. (Optional) a piecewise model for inference, e.g.
#    p.set_model("T", [{"func": u, "on": x < 0.5}, {"func": 2 * u, "on": x >= 0.5}])
