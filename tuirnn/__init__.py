"""tuirnn: train character-level RNN language models and watch them learn."""
import os as _os

# torch's CPU threads (GNU OpenMP) spin for a while when they wait for each other. On an idle
# machine that is fastest; with other work on the cores a spinning thread holds a core its
# partner needs. 2x128 LSTM, 250 steps, 2 threads on 2 cores, whole process (seconds):
#                            idle       2 busy processes
#   spin (libgomp default)   15.2       85.8
#   sleep (PASSIVE)          29.2       31.0
#   1 thread                 17.8       31.2
#   spin 10k rounds          16.1       34.2     <- this default
# A short spin keeps the idle speed and nearly all of the loaded one. Read when torch loads, so
# set before any import of it; OMP_WAIT_POLICY or GOMP_SPINCOUNT in the environment win.
if "OMP_WAIT_POLICY" not in _os.environ:
    _os.environ.setdefault("GOMP_SPINCOUNT", "10000")

__version__ = "0.1.0"
