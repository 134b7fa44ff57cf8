"""The one place that decides how Numba compiles this package's kernels (STYLE 9).

- cache: compiled machine code is kept so later runs start in about a second. Numba keys a
  cached function on its own file only, so a caller would keep running an edited callee's old
  code; the cache folder is therefore named by a hash of the whole package's source
  (.numba_cache/<hash>/ at the top of the repository). NUMBA_CACHE_DIR overrides it.
- fastmath: reassociation, contraction and reciprocal tricks, so reductions vectorise; NOT
  nnan/ninf, so NaN and infinity checks keep working. Results are the same bits run after run
  on one machine; a different CPU may round differently in the last place.
- error_model="numpy": a float division by zero gives inf instead of raising, which is what
  lets loops containing a division vectorise.
- nogil: the training pass runs in a worker thread while Python draws the progress bar.
"""

import hashlib
import os
from pathlib import Path

import numba

_PACKAGE = Path(__file__).resolve().parent


def _source_hash() -> str:
    digest = hashlib.sha256()
    for path in sorted(_PACKAGE.rglob("*.py")):
        digest.update(path.relative_to(_PACKAGE).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


if not os.environ.get("NUMBA_CACHE_DIR"):  # read before any kernel below is decorated
    numba.config.CACHE_DIR = str(_PACKAGE.parent / ".numba_cache" / _source_hash())

FASTMATH = frozenset({"nsz", "arcp", "contract", "reassoc"})
_OPTIONS = dict(cache=True, fastmath=set(FASTMATH), error_model="numpy", nogil=True)


def kernel(fn=None, **extra):
    """numba.njit with the package's options; extra options (e.g. parallel=True) override."""
    options = {**_OPTIONS, **extra}
    if fn is None:
        return lambda f: numba.njit(**options)(f)
    return numba.njit(**options)(fn)


def inline(fn):
    """A small helper the compiler always inlines into its caller (e.g. the squashing math)."""
    return numba.njit(**_OPTIONS, inline="always")(fn)
