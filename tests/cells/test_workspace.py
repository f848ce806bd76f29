"""The scratch memory the hand-written sequence paths reuse from call to call (cells/_workspace.py)."""

from __future__ import annotations

import copy
import gc
import pickle

import torch

from cells._workspace import Workspace, buffers


class _Owner:
    """Stands for an autograd node: an object with weak references."""


LAYOUT = [((3, 5), torch.float32), ((2, 7), torch.complex64), ((4,), torch.float64), ((0, 3), torch.float32)]


def test_take_carves_aligned_disjoint_buffers_of_the_requested_shapes():
    buffers, block = Workspace().take(LAYOUT, torch.device("cpu"))
    assert [(tuple(b.shape), b.dtype) for b in buffers] == [(s, d) for s, d in LAYOUT]
    assert all(b.data_ptr() % 64 == 0 for b in buffers if b.numel())
    for i, b in enumerate(buffers):
        b.fill_(i + 1)
    for i, b in enumerate(buffers):  # nothing written to one buffer landed in another
        assert torch.all(b == i + 1)
    assert all(b.untyped_storage().data_ptr() == block.data_ptr() for b in buffers)


def test_a_block_is_reused_only_after_its_owner_is_gone():
    workspace, owner = Workspace(), _Owner()
    _, first = workspace.take(LAYOUT, torch.device("cpu"), owner=owner)
    _, second = workspace.take(LAYOUT, torch.device("cpu"))  # the first is still owned: a new block
    assert second.data_ptr() != first.data_ptr() and len(workspace) == 0
    address = first.data_ptr()
    del owner, first
    gc.collect()
    assert len(workspace) == 1
    _, third = workspace.take(LAYOUT[:2], torch.device("cpu"))  # a smaller request fits the freed block
    assert third.data_ptr() == address and len(workspace) == 0


def test_the_smallest_fitting_block_is_taken_and_at_most_keep_are_held():
    workspace = Workspace(keep=2)
    blocks = [workspace.take([((n,), torch.uint8)], torch.device("cpu"))[1] for n in (300, 100, 200)]
    for block in blocks:
        workspace.give_back(block)
    assert len(workspace) == 2  # the oldest (300 bytes) was dropped
    _, taken = workspace.take([((150,), torch.uint8)], torch.device("cpu"))
    assert taken.data_ptr() == blocks[2].data_ptr()  # 200 bytes: the smallest that fits
    _, fresh = workspace.take([((400,), torch.uint8)], torch.device("cpu"))  # nothing fits: a new block
    assert fresh.data_ptr() not in {b.data_ptr() for b in blocks} and len(workspace) == 1


def test_a_block_on_another_device_is_not_handed_out():
    workspace = Workspace()
    workspace.give_back(torch.empty(1024, dtype=torch.uint8, device="meta"))
    _, block = workspace.take([((16,), torch.float32)], torch.device("cpu"))
    assert block.device.type == "cpu" and len(workspace) == 1


def test_copies_and_pickles_start_empty():
    workspace = Workspace(keep=3)
    workspace.give_back(torch.empty(64, dtype=torch.uint8))
    for other in (copy.deepcopy(workspace), pickle.loads(pickle.dumps(workspace))):
        assert isinstance(other, Workspace) and len(other) == 0 and other.keep == 3


def test_buffers_carves_a_new_block_every_call():
    first, second = buffers(LAYOUT, torch.device("cpu")), buffers(LAYOUT, torch.device("cpu"))
    assert [(tuple(b.shape), b.dtype) for b in first] == [(s, d) for s, d in LAYOUT]
    assert first[0].untyped_storage().data_ptr() != second[0].untyped_storage().data_ptr()
    assert len({b.untyped_storage().data_ptr() for b in first}) == 1  # one block
