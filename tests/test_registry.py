import pytest

import ornn


def test_register_create_and_list():
    ornn.register_cell("tmp_rk", ornn.RKCell)
    try:
        assert "tmp_rk" in ornn.available_cells()
        cell = ornn.create_cell("tmp_rk", 3, 4, tableau="heun")
        assert isinstance(cell, ornn.RKCell) and cell.tableau.name == "heun"
        with pytest.raises(ValueError, match="name: 'tmp_rk' is already registered"):
            ornn.register_cell("tmp_rk", lambda i, h: None)
        ornn.register_cell("tmp_rk", ornn.RKCell)  # the same factory again is harmless
    finally:
        ornn.unregister_cell("tmp_rk")
    assert "tmp_rk" not in ornn.available_cells()


def test_decorator_form_and_errors():
    @ornn.register_cell("tmp_decorated")
    def make(input_size, hidden_size):
        return ornn.RKCell(input_size, hidden_size)

    try:
        assert ornn.cell_factory("tmp_decorated") is make
    finally:
        ornn.unregister_cell("tmp_decorated")
    with pytest.raises(ValueError, match=r"name: unknown cell 'nope'; valid names are"):
        ornn.create_cell("nope", 1, 1)
    with pytest.raises(ValueError, match=r"name: expected an identifier-like string, got 'a b'"):
        ornn.register_cell("a b", ornn.RKCell)
    with pytest.raises(TypeError, match="factory: expected a callable"):
        ornn.register_cell("tmp_bad", 3)
