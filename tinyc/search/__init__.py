"""`tinyc search`: the most accurate network that fits the board (issue 25).

The stages, top to bottom (tinyc/search/driver.py reads them in order): for tinyc's default space, TinyNAS's first
step chooses the width multiplier and resolution from hundreds of untrained samples planned from synthetic graphs
(space_choice.py); a search space proposes an architecture (space.py); it is planned by tinyc for the board (costs.py:
arena, flash, an estimated latency from latency.py) and rejected with its reason when it does not fit; the ones that
fit are trained as Ray tasks (train.py); every trial goes to OUT/trials.json, the best to OUT/best.py, the front to
OUT/pareto.png and pareto.html (outputs.py).
"""
