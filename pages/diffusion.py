"""Diffusion: noise to digit: placeholder until its issue lands."""
from ui.common import placeholder

placeholder("Diffusion: noise to digit", "Forward noising of your own digit and step-by-step DDPM / DDIM sampling.", "the diffusion page (forward process, a class-conditional U-Net, DDPM and DDIM samplers) is planned.")
