from cfg import *

[x], [u_metal] = p.add_neural_network(name="metalNN", inputs=["x"], outputs=["u_metal"])
[x], [u_paper] = p.add_neural_network(name="paperNN", inputs=["x"], outputs=["u_paper"])

T_metal = p.add_submodel("T_metal", u_metal * x)
T_paper = p.add_submodel("T_paper", u_paper * (x-1))

geom = p.Line1D("geom", 0, 1)

interior_metal = p.add_interior_subdomain("interior_metal", 
                                          geom=geom, criteria=x<=1/2)
interior_paper = p.add_interior_subdomain("interior_paper", 
                                          geom=geom, criteria=x>=1/2)
interface = p.add_boundary_subdomain("interface", 
                                          geom=p.Point1D('pt', 1/2))


p.add_constraint("metal_diff", enforce(equation=Eq(1000*T_metal.diff(x,x)+100,0), 
                                          on_domain=interior_metal))
p.add_constraint("paper_diff", enforce(equation=Eq(T_paper.diff(x,x),0), 
                                          on_domain=interior_paper))

p.add_constraint("interface_eq", enforce(equation=Eq(T_paper,T_metal), 
                                          on_domain=interface))
p.add_constraint("interface_flux", 
                 enforce(equation=Eq(T_paper.diff(x),1000*T_metal.diff(x)), 
                         on_domain=interface))

p.set_model(
    "T",
    [
        {"func": T_metal, "on": x<1/2},
        {"func": T_paper, "on": ~(x<1/2)},
    ],
)

# Exact temperature: T = -x^2/20 + c1 x in the metal, c2 (x - 1) in the paper, with c1 and c2 from
# the two interface conditions (continuity and flux).
c1, c2 = Rational(2001, 40040), Rational(-25, 1001)
p.set_reference(T=Piecewise((-x**2 / 20 + c1 * x, x < 1/2), (c2 * (x - 1), True)))
