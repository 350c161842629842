"""GAN page: a 2-D GAN Lab trained live in PyTorch, and a digit DCGAN judged by the shipped CNN."""

from dl_core import dcgan, gan2d, gan2d_view, gan_judge
from ui import gan_digits, gan_lab
from ui.common import page_start, show_code, sidebar_status
from ui.tabs import lazy_tabs

page_start(
    "GAN: watch it learn",
    "A generative adversarial network is two networks trained against each other: a **generator** G "
    "turns random noise into samples, a **discriminator** D scores how real a sample looks. D is "
    "trained to tell real from fake, G to make D say \"real\". Here both are real PyTorch modules: "
    "first on 2-D points, where you can see every part of the game, then on handwritten digits.",
)

# Only the open tab runs (on_change="rerun"): a rerun does one tab's work, not both.
lab, digits = lazy_tabs(["2-D GAN Lab", "Digit GAN"], "gan_tab", keep="gan")  # hidden tabs keep their widget values
if lab.open:
    with lab:
        gan_lab.tab()
        show_code(gan2d.train_step, gan2d.d_loss_fn, gan2d.g_loss_fn, gan2d_view.g_arrows, gan2d_view.divergence)
if digits.open:
    with digits:
        gan_digits.tab()
        show_code(dcgan.Generator, dcgan.Discriminator, dcgan.train_step, gan_judge.score_probs,
                  title="Show the code: generator, discriminator, the training step, the judge")

sidebar_status()
