"""tinyc's C kernels (cmsis_nn/: portable CMSIS-NN v7.0.0 subset; tinyc/: tinyc-own kernels)
and the scratch sizes real CMSIS-NN asks for (buffer_sizes)."""
