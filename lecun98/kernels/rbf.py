"""The Euclidean RBF output layer, eq. (7), and the losses of Section II-C (and the softmax's).

y_i = sum_j (x_j - w_ij)^2 with the fixed +-1 prototypes of Fig. 3; the class is argmin_i y_i.
MLE, eq. (8): E = y_D.  MAP, eq. (9): E = y_D + log(e^-j + sum_i e^-y_i).
CE (softmax output, y = 10 logits, class argmax_i y_i): E = -y_D + log(sum_i e^y_i).
"""

import numpy as np

from lecun98.jit import kernel, like

MLE = 0
MAP = 1
CE = 2
KINDS = {"mle": MLE, "map": MAP, "ce": CE}


@kernel
def rbf_fprop(x, prototypes, y):
    # x: (84,) ; prototypes: (10, 84) ; y: (10,)
    for i in range(prototypes.shape[0]):
        acc = like(y, 0.0)
        for j in range(x.size):
            d = x[j] - prototypes[i, j]
            acc += d * d
        y[i] = acc


@kernel
def rbf_bprop(x, prototypes, gy, gx):
    # gx[j] = sum_i 2 gy[i] (x[j] - w_ij)
    for j in range(x.size):
        acc = like(gx, 0.0)
        for i in range(prototypes.shape[0]):
            acc += gy[i] * (x[j] - prototypes[i, j])
        gx[j] = 2.0 * acc


@kernel
def loss_fprop_bprop(y, label, kind, j, gy):
    """E for one pattern; writes dE/dy into gy. kind is MLE, MAP or CE."""
    # y, gy: (10,)
    if kind == CE:
        m = y.max()  # shift: no overflow
        total = like(y, 0.0)
        for i in range(y.size):
            total += np.exp(y[i] - m)
        for i in range(y.size):
            gy[i] = np.exp(y[i] - m) / total - (i == label)
        return np.log(total) - (y[label] - m)
    gy[:] = 0.0
    gy[label] = 1.0
    if kind == MLE:
        return y[label]
    m = min(j, y.min())  # shift so the largest term is e^0: no overflow, no total underflow
    total = np.exp(m - j)
    for i in range(y.size):
        total += np.exp(m - y[i])
    for i in range(y.size):
        gy[i] -= np.exp(m - y[i]) / total
    return y[label] - m + np.log(total)


@kernel
def softmax_curvature(y, hy):
    # hy[i] = p_i (1 - p_i), p = softmax(y): the diagonal of CE's Hessian in the logits
    m = y.max()
    total = like(y, 0.0)
    for i in range(y.size):
        total += np.exp(y[i] - m)
    for i in range(y.size):
        p = np.exp(y[i] - m) / total
        hy[i] = p * (1.0 - p)


@kernel
def predicted(y, kind):
    """The class: argmax of the logits (CE), else argmin of the RBF distances."""
    if kind == CE:
        best = 0
        for i in range(1, y.size):
            if y[i] > y[best]:
                best = i
        return best
    return argmin(y)


@kernel
def argmin(y):
    best = 0
    for i in range(1, y.size):
        if y[i] < y[best]:
            best = i
    return best
