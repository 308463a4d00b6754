"""The regression gate: its inputs, the runs it compares (history selection), its statistics
and the compare command's output."""

# The nightly gate (--last) decides once the newest run has this many earlier runs in its
# environment and scenario: five run means are the fewest a history's spread rests on
# (gate/stats.py moderates them; tests/test_gate_sim.py measured it at 5). Before that it is
# calibrating: not a pass (exit 2), unless something already regressed.
CALIBRATE = 5

# The newest nights a change-point test reads by default (gate/changepoint.py). 60, not 30: a
# step only three nights old is told from noise by how rarely three nights of the window's
# random orders sit as high at its end, which a longer window makes rarer (at 10% night noise a
# 1.4x step is caught within three nights on 89-90% of metrics, against 74-80% at 30: README).
WINDOW = 60
