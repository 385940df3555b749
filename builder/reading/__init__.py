"""The reading phase, the parallel half of a build: the input planned as work units (`plan`),
one unit read, turned into rows and spilled in a worker (`unit`, `chain`, `sinks`), and the
units' results put back together per input file (`gather`)."""
