"""The seeds reproduced: every figure, table, study and snapshot builder of seed 000 (isac/) and
seed 002 (pnt/). Nothing in twin imports this package except `twin.cli`, which mounts
`twin paper isac|pnt`."""
