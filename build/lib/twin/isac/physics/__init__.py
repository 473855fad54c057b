"""Seed 000 physics: the sensing model, the communication channel, the CRB and the stand-in design.

Modules: :mod:`~twin.isac.physics.model` (steering vectors, angles, beta, echo),
:mod:`~twin.isac.physics.channel` (UE channels, SINR and rate), :mod:`~twin.isac.physics.crb`
(closed-form position CRB) and :mod:`~twin.isac.physics.transmit` (stand-in transmit design).
"""
