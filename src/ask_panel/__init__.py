"""Ask Panel: AI expert panels that discuss a question, measure consensus and stream live."""

__version__ = "0.1.0"
