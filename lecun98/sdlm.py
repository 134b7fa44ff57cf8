"""Stochastic diagonal Levenberg-Marquardt, Appendix C, as compiled passes.

One pass over the training patterns is ONE compiled call (train_pass): per pattern, fprop,
the loss, and bprop with the update w_k <- w_k - eps_k dE^p/dw_k taken layer by layer. Before
each pass, estimate_hessian averages the Gauss-Newton diagonal h_kk over a sample of patterns
(eqs. 23-27) and step_sizes turns it into eps_k = eta / (mu + h_kk). The schedule around these
calls is Python (train.py).
"""


from lecun98.jit import kernel
from lecun98.kernels.rbf import loss_fprop_bprop, predicted
from lecun98.network import STEP, bbprop, bprop, fprop, new_workspace

# progress: float64 (4,), shared with the Python thread that draws the progress bar
DONE, ERRORS, LOSS_SUM, STOP = 0, 1, 2, 3


@kernel
def train_pass(params, eps, images, labels, order, arch, ws, progress):
    # params, eps: (n_params,) ; images: (N, 32, 32) ; labels: (N,) int ; order: (T,) int
    # Counts the on-the-fly training error (prediction before the pattern's own update).
    # Stops early, between two patterns, when progress[STOP] is set.
    for t in range(order.size):
        if progress[STOP] != 0.0:
            return
        n = order[t]
        fprop(params, images[n], arch, ws)
        e = loss_fprop_bprop(ws.y, labels[n], arch.loss, arch.j, ws.gy)
        if predicted(ws.y, arch.loss) != labels[n]:
            progress[ERRORS] += 1.0
        progress[LOSS_SUM] += e
        bprop(params, images[n], arch, ws, eps, STEP)
        progress[DONE] = t + 1


@kernel
def estimate_hessian(params, images, sample, arch, ws, h):
    # h: (n_params,) <- mean over the sampled patterns of the per-pattern diagonal
    h[:] = 0.0
    for t in range(sample.size):
        fprop(params, images[sample[t]], arch, ws)
        bbprop(params, images[sample[t]], arch, ws)
        for k in range(h.size):
            h[k] += ws.grad[k]
    for k in range(h.size):
        h[k] /= sample.size


@kernel
def step_sizes(h, eta, mu, eps):
    # eps_k = eta / (mu + h_kk), Appendix C
    for k in range(h.size):
        eps[k] = eta / (mu + h[k])


@kernel
def predict_into(params, images, arch, out_y, out_class):
    # images: (N, 32, 32) ; out_y: (N, 10) RBF outputs or logits ; out_class: (N,) the class.
    # Releases the GIL: model.predict runs one call per thread on slices of the images.
    ws = new_workspace(params.dtype, params.size)
    for i in range(images.shape[0]):
        fprop(params, images[i], arch, ws)
        out_y[i, :] = ws.y
        out_class[i] = predicted(ws.y, arch.loss)
