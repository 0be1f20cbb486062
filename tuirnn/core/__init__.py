"""The UI-free core: config, data, model, training, sampling, probing, checkpoints, events.

Nothing here imports textual or rich (a test checks the whole package)."""
