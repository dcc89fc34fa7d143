"""What ``publish`` writes besides the markdown page (:mod:`benchmark.leaderboard`): machine-readable
results (``export``) and the index of every leaderboard (``index``)."""
