"""Applications of the cells: QAOA/DC-QAOA initialisation (``applications.qaoa``)."""
