r"""Training data: Haar-random initial states evolved exactly, streamed or cached (Zhang et al. Appendix B).

A :class:`SequenceSpec` fixes everything a data set depends on (spin counts, sequences per
N, steps, dt, fields, seed). Sequences are generated per (N, chunk) from a generator
seeded by (seed, N, chunk), so any slice can be regenerated on the fly, identical
whether it is streamed or read from the cache; splits are 80/10/10 by sequence index,
as in the paper.

:func:`haar_states` draws Haar-random states (normalised complex Gaussians);
:func:`appendix_c_state` is the paper's own initial state of each N = 2..7 (its Appendix C).
:func:`cache` writes one ``.pt`` file per N plus ``metadata.json`` with the spec and a
SHA-256 checksum per file, atomically; :func:`load_cached` verifies both.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Iterator, Optional

import torch

from ornn import _checks, _io

from .exact import MAX_SPINS, evolve_exact

__all__ = [
    "haar_states",
    "appendix_c_state",
    "APPENDIX_C_SPINS",
    "SequenceSpec",
    "sequences",
    "materialise",
    "batches",
    "cache",
    "load_cached",
    "SPLITS",
]

#: the chain lengths whose initial state Zhang et al. print in Appendix C (their Fig. 3 predictions)
APPENDIX_C_SPINS = (2, 3, 4, 5, 6, 7)

#: fractions of each N's sequences in the train, validation and test splits
SPLITS = {"train": (0.0, 0.8), "validation": (0.8, 0.9), "test": (0.9, 1.0)}


def haar_states(
    n_spins: int, count: int, *, generator: Optional[torch.Generator] = None, dtype: torch.dtype = torch.complex128
) -> torch.Tensor:
    """(count, 2^N) Haar-random pure states: complex Gaussian vectors, normalised."""
    _checks.positive_int("count", count)
    dim = 2 ** _checks.positive_int("n_spins", n_spins)
    real = torch.randn(count, 2, dim, generator=generator, dtype=torch.float64)
    psi = torch.complex(real[:, 0], real[:, 1])
    return (psi / torch.linalg.vector_norm(psi, dim=1, keepdim=True)).to(dtype)


def appendix_c_state(n_spins: int, *, dtype: torch.dtype = torch.complex128) -> torch.Tensor:
    """The N-spin initial state of Zhang et al. (arXiv:1905.09168) Appendix C, (2^N,), scaled to unit norm.

    The paper prints every amplitude to 3 decimals, so the printed vectors have norms 1 +- 1e-3;
    the amplitudes are kept as printed (``appendix_c.json``) and the vector is divided by its norm.
    Basis index: the first spin of a ket |s_1 ... s_N> is the most significant bit, as everywhere here.
    """
    if isinstance(n_spins, bool) or n_spins not in APPENDIX_C_SPINS:
        raise ValueError(f"n_spins: expected one of {APPENDIX_C_SPINS} (the states Appendix C prints), got {n_spins!r}")
    text = resources.files(__package__).joinpath("appendix_c.json").read_text()
    pairs = torch.tensor(json.loads(text)["states"][str(n_spins)], dtype=torch.float64)
    psi = torch.complex(pairs[:, 0], pairs[:, 1])
    return (psi / torch.linalg.vector_norm(psi)).to(dtype)


@dataclass(frozen=True)
class SequenceSpec:
    """What a data set is: N in ``spins``, ``per_spin`` sequences each of ``steps`` steps of ``dt``."""

    spins: tuple[int, ...] = (2, 3, 4)
    per_spin: int = 200
    steps: int = 100
    dt: float = 0.002
    g: float = -1.05
    h: float = 0.5
    seed: int = 0
    chunk: int = 64

    def __post_init__(self) -> None:
        if not self.spins or any(
            isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_SPINS for n in self.spins
        ):
            raise ValueError(f"spins: expected integers in [1, {MAX_SPINS}], got {self.spins!r}")
        _checks.positive_int("per_spin", self.per_spin, minimum=10)
        _checks.positive_int("steps", self.steps)
        _checks.positive_float("dt", self.dt)
        _checks.positive_int("chunk", self.chunk)

    def split_range(self, split: str) -> range:
        if split not in SPLITS:
            raise ValueError(f"split: expected one of {', '.join(SPLITS)}, got {split!r}")
        lo, hi = SPLITS[split]
        return range(round(lo * self.per_spin), round(hi * self.per_spin))


def _chunk(spec: SequenceSpec, n: int, index: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed((spec.seed * 1_000_003 + n * 10_007 + index) % (2**63))
    count = min(spec.chunk, spec.per_spin - index * spec.chunk)
    psi0 = haar_states(n, count, generator=generator)
    return evolve_exact(psi0, n, spec.steps, spec.dt, spec.g, spec.h)


def sequences(
    spec: SequenceSpec, n: int, indices: range, *, cached: Optional[dict[int, torch.Tensor]] = None
) -> torch.Tensor:
    """The sequences ``indices`` of N spins: (len, steps + 1, 2^N) complex128, from the cache or regenerated."""
    if n not in spec.spins:
        raise ValueError(f"n: expected one of the spec's spins {spec.spins}, got {n!r}")
    if cached is not None and n in cached:
        return cached[n][indices.start : indices.stop]
    chunks = range(indices.start // spec.chunk, (max(indices.stop, 1) - 1) // spec.chunk + 1)
    block = torch.cat([_chunk(spec, n, c) for c in chunks])
    offset = chunks.start * spec.chunk
    return block[indices.start - offset : indices.stop - offset]


def materialise(spec: SequenceSpec) -> dict[int, torch.Tensor]:
    """Every sequence of the spec in memory, {N: (per_spin, steps + 1, 2^N)}: generated once, for many epochs."""
    return {n: sequences(spec, n, range(spec.per_spin)) for n in spec.spins}


def batches(
    spec: SequenceSpec,
    split: str,
    batch_size: int,
    *,
    shuffle: bool = True,
    seed: int = 0,
    cached: Optional[dict[int, torch.Tensor]] = None,
) -> Iterator[tuple[int, torch.Tensor]]:
    """(N, (B, steps + 1, 2^N)) mini-batches of one N each, N and sequences shuffled with ``seed``."""
    _checks.positive_int("batch_size", batch_size)
    rng = torch.Generator().manual_seed(seed)
    pools = {n: sequences(spec, n, spec.split_range(split), cached=cached) for n in spec.spins}
    plan = []
    for n, pool in pools.items():
        order = torch.randperm(pool.shape[0], generator=rng) if shuffle else torch.arange(pool.shape[0])
        plan += [(n, order[i : i + batch_size]) for i in range(0, pool.shape[0], batch_size)]
    if shuffle:
        plan = [plan[i] for i in torch.randperm(len(plan), generator=rng).tolist()]
    for n, rows in plan:
        yield n, pools[n][rows]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def cache(spec: SequenceSpec, folder: Path, *, progress: bool = False) -> Path:
    """Generate every sequence and write ``folder/spins-N.pt`` plus ``metadata.json`` (spec, checksums)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    checksums = {}
    spins = spec.spins
    if progress:
        from tqdm import tqdm

        spins = tqdm(spins, desc="generating", unit="N")
    for n in spins:
        data = sequences(spec, n, range(spec.per_spin))  # one N at a time: the cache never holds all of it in memory
        buffer = io.BytesIO()
        torch.save(data, buffer)
        path = folder / f"spins-{n}.pt"
        _io.write_bytes(path, buffer.getvalue())
        checksums[str(n)] = _sha256(path)
    _io.write_json(folder / "metadata.json", {"spec": asdict(spec), "sha256": checksums})
    return folder


def load_cached(folder: Path) -> tuple[SequenceSpec, dict[int, torch.Tensor]]:
    """Read a cache written by :func:`cache`, verifying every checksum."""
    folder = Path(folder)
    meta_path = folder / "metadata.json"
    if not meta_path.exists():
        raise FileNotFoundError(f"folder: expected a data cache with metadata.json, got {folder}")
    meta = _io.read_json(meta_path, "metadata.json of the data cache", keys=("spec", "sha256"))
    try:
        raw = meta["spec"]
        spec = SequenceSpec(**{**raw, "spins": tuple(raw["spins"])})
        checksums = {n: meta["sha256"][str(n)] for n in spec.spins}
    except (KeyError, TypeError) as err:
        raise ValueError(f"folder: {meta_path} does not describe a data cache ({err})") from None
    data = {}
    for n in spec.spins:
        path = folder / f"spins-{n}.pt"
        if not path.is_file():
            raise FileNotFoundError(f"folder: the data cache lacks {path}")
        if _sha256(path) != checksums[n]:
            raise ValueError(f"folder: checksum mismatch for {path} (the cache was modified or truncated)")
        data[n] = torch.load(path, weights_only=True)
    return spec, data
