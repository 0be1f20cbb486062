"""tuirnn: train character-level RNN language models and watch them learn."""
import os as _os

# torch's CPU threads (OpenMP) spin while they wait for each other. With all cores in use
# (train.threads 0) and other work on the machine, a spinning thread holds a core its partner
# needs: a 2x128 LSTM on 2 busy cores (load ~7) ran at ~4k chars/s with spinning, ~49k with
# waiting threads asleep, ~16-39k on one thread. Read when torch loads, so set before any
# import of it; OMP_WAIT_POLICY=ACTIVE in the environment brings spinning back.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
