"""`tinyc search`: the most accurate network that fits the board (issue 25).

The stages, top to bottom (tinyc/search/driver.py reads them in order): a search space proposes an architecture
(space.py); it is converted to int8 and planned by tinyc for the board (costs.py: arena, flash, an estimated latency
from latency.py) and rejected with its reason when it does not fit; the ones that fit are trained as Ray tasks
(train.py); every trial goes to OUT/trials.json, the best to OUT/best.py, the front to OUT/pareto.png (outputs.py).
"""
