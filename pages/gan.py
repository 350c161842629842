"""GAN: watch it learn: placeholder until its issue lands."""
from ui.common import placeholder

placeholder("GAN: watch it learn", "A generator and a discriminator trained against each other, live.", "the GAN page (a 2-D GAN Lab in PyTorch and a digit GAN) is planned.")
