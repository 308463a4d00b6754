"""The regression gate: its inputs, the runs it compares (history selection), its statistics
and the compare command's output."""

# The nightly gate (--last) decides once the newest run has this many earlier runs in its
# environment and scenario: five run means are the fewest a history's spread rests on
# (gate/stats.py moderates them; tests/test_gate_sim.py measured it at 5). Before that it is
# calibrating: not a pass (exit 2), unless something already regressed.
CALIBRATE = 5

# The newest nights a change-point test reads by default (gate/changepoint.py).
WINDOW = 30
