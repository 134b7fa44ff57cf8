"""The one place that decides how Numba compiles this package's kernels (STYLE 9).

- cache: compiled machine code is kept so later runs start in about a second. Numba keys a
  cached function on its own file only, so a caller would keep running an edited callee's old
  code; the cache folder is therefore named by a hash of the whole package's source
  (.numba_cache/<hash>/ at the top of the repository; $NUMBA_CACHE_DIR/<hash>/ when set).
- fastmath: reassociation, contraction and reciprocal tricks, so reductions vectorise; NOT
  nnan/ninf, so NaN and infinity checks keep working. Results are the same bits run after run
  on one machine; a different CPU may round differently in the last place.
- error_model="numpy": a float division by zero gives inf instead of raising, which is what
  lets loops containing a division vectorise.
- nogil: the training pass runs in a worker thread while Python draws the progress bar.
- inline="always": a kernel called from another kernel is inlined by Numba, so every entry point
  (train_pass, estimate_hessian, predict_into, ...) is one self-contained function. Without it,
  a call to another kernel is resolved at load time to whichever compiled copy of that kernel the
  process met first, and those copies are optimised in different contexts (with reassociation
  allowed, they round differently): the same seed gave different bits on a cold cache and a warm
  one. With it, a run's bits do not depend on the cache or on what ran before in the process
  (tests/test_network.py checks a fresh compile against the cached code).
- dtype: every kernel runs in float64 or float32, whichever its arrays hold; `like` gives a
  constant the arrays' dtype, so a float32 loop is not widened to float64 by a literal.
"""

import hashlib
import os
from pathlib import Path

import numba
from numba.extending import overload

_PACKAGE = Path(__file__).resolve().parent


def _source_hash() -> str:
    digest = hashlib.sha256()
    for path in sorted(_PACKAGE.rglob("*.py")):
        digest.update(path.relative_to(_PACKAGE).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


# read before any kernel below is decorated; NUMBA_CACHE_DIR moves the folder, and gets the hash
# subfolder too (without it, an edited callee's old code would run: see above)
numba.config.CACHE_DIR = str(Path(os.environ.get("NUMBA_CACHE_DIR") or _PACKAGE.parent / ".numba_cache")
                             / _source_hash())

FASTMATH = frozenset({"nsz", "arcp", "contract", "reassoc"})
_OPTIONS = dict(cache=True, fastmath=set(FASTMATH), error_model="numpy", nogil=True, inline="always")


def kernel(fn=None, **extra):
    """numba.njit with the package's options; extra options (e.g. parallel=True) override."""
    options = {**_OPTIONS, **extra}
    if fn is None:
        return lambda f: numba.njit(**options)(f)
    return numba.njit(**options)(fn)


def like(array, value):
    """value as a scalar of array's dtype (in compiled code: a constant, folded away)."""
    return array.dtype.type(value)


@overload(like, inline="always")
def _like(array, value):
    dtype = array.dtype
    return lambda array, value: dtype(value)
