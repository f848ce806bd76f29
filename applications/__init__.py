"""Applications of the cells: learned QAOA/DC-QAOA initialisation (:mod:`applications.qaoa`) and Ising-chain
dynamics prediction (:mod:`applications.dynamics`). Importing this package registers nothing."""
