"""Mini-batch training (Adam, the modern recipe) of the same network.py model, compiled.

A batch's gradient is the sum of its patterns' gradients, each from network.py's fprop and
bprop (ACCUMULATE): there is no separate mini-batch model. The batch is cut into `chunks` fixed
slices, one compiled call each (slice_gradient, which releases the GIL) on its own thread,
each summing into its own gradient; the slices' sums are then added in order, so the bits
depend on the chunk count (Config.threads), never on thread timing. The loop over batches is
Python (train_epoch): ~0.1 ms a batch against milliseconds of compiled work.
"""

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from lecun98.config import ADAM_BETA1, ADAM_BETA2, ADAM_EPS
from lecun98.jit import kernel, like
from lecun98.kernels.rbf import loss_fprop_bprop, predicted
from lecun98.network import ACCUMULATE, bprop, fprop, new_workspace

LOSS, ERRORS = 0, 1  # stats columns


@kernel
def slice_gradient(params, images, labels, samples, arch, grad, stats):
    """grad <- sum over images[samples] of dE/dparams ; stats <- (loss sum, errors), the errors
    counted before the update. Releases the GIL: train_epoch runs one slice per thread."""
    ws = new_workspace(params.dtype, params.size)
    loss, errors = 0.0, 0.0
    for b in range(samples.size):
        image, label = images[samples[b]], labels[samples[b]]
        fprop(params, image, arch, ws)
        loss += loss_fprop_bprop(ws.y, label, arch.loss, arch.j, ws.gy)
        errors += predicted(ws.y, arch.loss) != label
        bprop(params, image, arch, ws, ws.grad, ACCUMULATE)
    grad[:] = ws.grad
    stats[LOSS] = loss
    stats[ERRORS] = errors


@kernel
def adam_step(params, grad, scale, m, v, step, lr, beta1, beta2, eps):
    """One Adam update (Kingma & Ba 2015, Algorithm 1) on the gradient scale * grad (the batch
    mean, scale = 1 / batch); step counts from 1."""
    c1 = 1.0 - beta1**step
    c2 = 1.0 - beta2**step
    b1, b2 = like(m, beta1), like(v, beta2)
    a1, a2 = like(m, 1.0 - beta1), like(v, 1.0 - beta2)
    rate, inv_c2, e = like(params, lr / c1), like(params, 1.0 / c2), like(params, eps)
    s = like(grad, scale)
    for k in range(params.size):
        gk = grad[k] * s
        m[k] = b1 * m[k] + a1 * gk
        v[k] = b2 * v[k] + a2 * gk * gk
        params[k] -= rate * m[k] / (np.sqrt(v[k] * inv_c2) + e)


def train_epoch(params, adam, images, labels, order, batch, lr, arch, chunks, on_batch=None):
    """Adam on consecutive mini-batches of `order`; adam = {"m", "v", "step"} (moments in the
    parameters' layout, the step count) is updated in place. Returns (patterns done, on-the-fly
    errors (before each batch's update), sum of the losses): the first three of sdlm.train_pass's
    progress columns. on_batch(n) after each batch of n patterns."""
    chunks = max(1, min(chunks, batch))
    grads = np.empty((chunks, params.size), params.dtype)
    stats = np.empty((chunks, 2))
    progress = np.zeros(3)
    with ThreadPoolExecutor(chunks) as pool:
        for start in range(0, len(order), batch):
            samples = order[start:start + batch]
            cuts = [len(samples) * t // chunks for t in range(chunks + 1)]
            jobs = [pool.submit(slice_gradient, params, images, labels, samples[a:b], arch,
                                grads[t], stats[t]) for t, (a, b) in enumerate(zip(cuts, cuts[1:]))]
            for job in jobs:
                job.result()
            for t in range(1, chunks):  # the slices' sums, added in order
                grads[0] += grads[t]
            adam["step"] += 1
            adam_step(params, grads[0], 1.0 / len(samples), adam["m"], adam["v"], adam["step"],
                      lr, ADAM_BETA1, ADAM_BETA2, ADAM_EPS)
            progress += (len(samples), stats[:, ERRORS].sum(), stats[:, LOSS].sum())
            if on_batch is not None:
                on_batch(len(samples))
    return progress
