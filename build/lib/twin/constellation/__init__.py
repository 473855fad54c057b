"""Constellations: satellites, their orbits and their links (layer 3; imports only the
foundation and `twin.config`).

Modules, lowest first: `tle` (the `Constellation` container, TLE files), `orbits` (SGP4
propagation, TEME -> ITRS), `checks` (SGP4 run-time checks), `walker` (Walker-Delta shells),
`build` (a scenario's constellation section -> `Constellation`), `ephemeris` (export),
`planes` (plane labels), `isl` (+Grid ISL graph), `serving` (serving groups), `handover`
(handover events).
"""
