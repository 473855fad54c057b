"""What happens to a signal between a satellite and a ground receiver, as pure functions.

Layer 1 (beside ``isac/`` and ``pnt/``, imports only the foundation), used by the error
budget of the processes (``twin.processes.errors``):

- :mod:`twin.signal.flight`: light-time (emission-time) geometry and the Earth rotation
  during flight (Sagnac) in the Earth-fixed frame;
- :mod:`twin.signal.atmosphere`: Saastamoinen zenith troposphere with the RTCA DO-229
  mapping function, ionospheric group delay 40.3 TEC/f² with the thin-shell obliquity factor;
- :mod:`twin.signal.clocks`: satellite clock offsets (offset + drift + white-FM random walk
  of a given Allan deviation), seeded per satellite;
- :mod:`twin.signal.ephemeris`: statistical radial/along-track/cross-track ephemeris errors,
  seeded per satellite.

Units: metres, seconds, radians, hertz; positions Earth-fixed (ITRS) metres.
"""
