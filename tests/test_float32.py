"""The float32 path (Config.dtype): the float64 network rounded to float32. Its own file: these
tests compile every entry point for float32, which make test runs beside the float64 ones."""

import numpy as np
import pytest

from lecun98 import network, sdlm
from lecun98.config import Config
from test_network import (config_of, gradient, hessian, pass_setup, per_block_close,  # noqa: F401
                          predict, random_net, workspace)


@pytest.mark.parametrize("arch", ["1998", "modern"])
def test_float32_network_matches_float64(arch):
    """The float32 path is the float64 network rounded to float32: outputs, gradient and
    Gauss-Newton diagonal agree to float32 accuracy (errors measured ~1e-6 relative)."""
    config = config_of(arch)
    rng, params, image = random_net(60, config)
    p32, image32 = params.astype(np.float32), image.astype(np.float32)
    e64, g64 = gradient(params, image[None], [3], [0], config)
    e32, g32 = gradient(p32, image32[None], [3], [0], config)
    assert g32.dtype == np.float32
    assert e32 == pytest.approx(e64, rel=1e-5)
    per_block_close(g32, g64, config, 1e-4, "gradient")
    np.testing.assert_allclose(predict(p32, image32[None], config)[0],
                               predict(params, image[None], config)[0], rtol=1e-5)
    if arch == "1998":
        per_block_close(hessian(p32, image32[None], [0], config),
                        hessian(params, image[None], [0], config), config, 1e-4, "h")


def test_float32_train_pass_matches_float64(pass_setup):
    params, images, labels, order, eps = pass_setup
    runs = {}
    for dtype in (np.float64, np.float32):
        p, progress = params.astype(dtype), np.zeros(4)
        sdlm.train_pass(p, eps.astype(dtype), images.astype(dtype), labels, order,
                        network.make_arch(Config(), dtype), workspace(Config(), dtype), progress)
        runs[dtype] = p, progress
    (p64, prog64), (p32, prog32) = runs[np.float64], runs[np.float32]
    assert p32.dtype == np.float32
    assert np.abs(p32 - p64).max() < 1e-5 < np.abs(p64 - params).max()  # it moved, the same way
    assert prog32[sdlm.ERRORS] == prog64[sdlm.ERRORS]
    np.testing.assert_allclose(prog32[sdlm.LOSS_SUM], prog64[sdlm.LOSS_SUM], rtol=1e-5)


