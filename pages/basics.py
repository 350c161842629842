"""PyTorch basics: tensors, autograd, nn.Module, losses and optimizers, and a playground trainer."""

from dl_core import expr, expr_numeric, modules_demo, optim_race, playground, tensor_rules, tensors
from ui import basics_autograd, basics_losses, basics_modules, basics_net, basics_playground, basics_tensors
from ui.common import page_start, show_code, sidebar_status
from ui.tabs import lazy_tabs

TABS = ["Tensors", "Autograd", "nn.Module", "Losses & optimizers", "Playground"]

page_start(
    "PyTorch basics",
    "The course's first day, in today's PyTorch: build and reshape **tensors**, watch **autograd** walk a "
    "graph you typed, take an **nn.Module** apart, compare **losses and optimizers**, and train a small net "
    "live in the **playground**. Every number on this page is computed by PyTorch as you change the inputs.",
)

# Only the open tab runs (lazy tabs); lazy_tabs keeps the hidden tabs' widget values (buttons cannot be kept).
tabs = lazy_tabs(TABS, "basics_tab", keep="basics_", bind="query-params")
t_tensors, t_autograd, t_module, t_losses, t_play = tabs

if t_tensors.open:
    with t_tensors:
        basics_tensors.tab()
        show_code(tensors.build, tensors.reshape, tensor_rules.broadcast, tensor_rules.promote, tensor_rules.inplace)
if t_autograd.open:
    with t_autograd:
        basics_autograd.tab()
        show_code(expr.parse, expr._check, expr._forward, expr.build, expr.backward_steps, expr.accumulate,
                  expr_numeric.numerical)
if t_module.open:
    with t_module:
        basics_modules.tab()
        basics_net.section()
        show_code(modules_demo.course_sequential, modules_demo.course_ordered, modules_demo.parse_layers,
                  modules_demo.describe, modules_demo.dtype_mismatch)
if t_losses.open:
    with t_losses:
        basics_losses.tab()
        show_code(optim_race.mse, optim_race.cross_entropy, optim_race.activation_curves, optim_race.make_optimizer,
                  optim_race.trajectory)
if t_play.open:
    with t_play:
        basics_playground.tab()
        show_code(playground.PlaygroundConfig, playground.circles, playground.build_model, playground.loss_fn,
                  playground.train_steps, playground.views)

sidebar_status()
