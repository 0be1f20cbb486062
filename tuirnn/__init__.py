"""tuirnn: train character-level RNN language models and watch them learn."""
__version__ = "0.1.0"
