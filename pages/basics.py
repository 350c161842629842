"""PyTorch basics: placeholder until its issue lands."""
from ui.common import placeholder

placeholder("PyTorch basics", "Tensors, autograd, nn.Module, losses and optimizers, and a playground trainer, all in real PyTorch.", "the PyTorch basics pages are planned (tensors, autograd, nn.Module, losses and optimizers, a playground).")
