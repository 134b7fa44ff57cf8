"""Numba kernels, one layer type a file, each with fprop / bprop / bbprop (STYLE 4)."""
