"""leo-twin: a digital twin of LEO constellations for ISAC and LEO-PNT."""

__version__ = "0.1.0"
