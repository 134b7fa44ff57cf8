"""lecun98: LeNet-5 of LeCun, Bottou, Bengio & Haffner (1998), reproduced in Numba."""
