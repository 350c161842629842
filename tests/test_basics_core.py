"""dl_core for the PyTorch basics page: tensors, the expression parser and autograd graph, modules,
losses and optimizers, the playground. Every check compares with PyTorch itself or a measured result."""
from __future__ import annotations

import ast
import math
import os
import subprocess
import sys
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from dl_core import expr as E
from dl_core import expr_numeric as EN
from dl_core import modules_demo as M
from dl_core import optim_race as O
from dl_core import playground as P
from dl_core import playground_share as PS
from dl_core import tensors as T
from dl_core import tensor_rules as TR

ROOT = Path(__file__).resolve().parent.parent
CPU = torch.device("cpu")


def torch_error(fn) -> str:
    """The message PyTorch raises for ``fn()``, computed here independently of dl_core."""
    try:
        fn()
    except (RuntimeError, ValueError) as err:
        return str(err)
    raise AssertionError("expected PyTorch to raise")


# ---------------------------------------------------------------- no eval / exec anywhere ----
BASICS_FILES = ["dl_core/tensors.py", "dl_core/expr.py", "dl_core/modules_demo.py", "dl_core/optim_race.py",
                "dl_core/playground.py", "pages/basics.py", "benchmarks/bench_basics.py",
                *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "ui").glob("basics_*.py"))]


def dangerous_calls(src: str) -> list[str]:
    bare = {"eval", "exec", "compile", "__import__"}  # builtins called by name
    found = []
    for node in ast.walk(ast.parse(src)):
        if isinstance(node, ast.Call):
            f = node.func
            # builtins.eval(s), ast.literal_eval(s); but model.eval() (no argument) and re.compile are fine
            attr = isinstance(f, ast.Attribute) and (f.attr == "literal_eval" or (f.attr in ("eval", "exec") and node.args))
            if (isinstance(f, ast.Name) and f.id in bare) or attr:
                found.append(f"line {node.lineno}: {ast.unparse(f)}")
    return found


@pytest.mark.parametrize("path", BASICS_FILES)
def test_no_eval_or_exec(path):
    assert dangerous_calls((ROOT / path).read_text()) == []


def test_eval_checker_can_fail():
    assert len(dangerous_calls("eval('1')\nast.literal_eval('[1]')\nexec('x=1')\nbuiltins.eval('2')")) == 4
    assert dangerous_calls("re.compile('a')\nmodel.eval()\n") == []


# ---------------------------------------------------------------- tensors --------------------
def test_build_from_list_numpy_and_factories():
    t = T.build("list", "int16", CPU, values="[[1, 2, 3], [4, 5, 6]]").tensor
    assert t.dtype == torch.int16 and t.shape == (2, 3) and t.stride() == (3, 1)
    assert torch.equal(t, torch.tensor([[1, 2, 3], [4, 5, 6]], dtype=torch.int16))
    built = T.build("numpy", "float64", CPU, values="[[1, 2.5], [3, 4]]")
    assert built.tensor.dtype == torch.float64 and "from_numpy" in built.code and ".to(" not in built.code
    assert T.build("numpy", "float32", CPU, values="[1.5]").tensor.dtype == torch.float32
    a = T.build("randn", "float32", CPU, shape="3, 4", seed=7).tensor
    assert torch.equal(a, torch.randn(3, 4, generator=torch.Generator().manual_seed(7)))
    assert T.build("arange", "int64", CPU, start=0, end=6, step=2).tensor.tolist() == [0, 2, 4]
    assert T.build("zeros", "uint8", CPU, shape="2x2").tensor.sum().item() == 0
    info = T.info(T.build("ones", "float16", CPU, shape="4, 5").tensor)
    assert info["memory (bytes)"] == 40 and info["aliases"] == "torch.half"


def test_build_errors_are_pytorchs_own():
    with pytest.raises(T.TensorError) as err:
        T.build("rand", "int64", CPU, shape="2, 3")
    assert str(err.value) == torch_error(lambda: torch.rand(2, 3, dtype=torch.int64))
    with pytest.raises(T.TensorError) as err:
        T.build("list", "float32", CPU, values="[[1, 2], [3]]")
    assert str(err.value) == torch_error(lambda: torch.tensor([[1, 2], [3]]))


@pytest.mark.parametrize("text", ["__import__('os')", "x", "[1, 'a']", "[1, 2][0]", "().__class__", "[1, 2] + [3]",
                                  "", "[" * 200 + "]" * 200, "lambda: 1"])
def test_values_parser_rejects_non_literals(text):
    with pytest.raises(T.TensorError):
        T.parse_values(text)


def test_shape_parser():
    assert T.parse_shape("(2, 3)") == (2, 3) and T.parse_shape("2x3x4") == (2, 3, 4)
    assert T.parse_shape("-1, 2", allow_infer=True) == (-1, 2)
    for bad in ("-1, 2", "a, b", "1000, 1000", "1,1,1,1,1,1,1"):
        with pytest.raises(T.TensorError):
            T.parse_shape(bad)


def test_dtype_table_and_aliases():
    rows = T.dtype_table()
    assert sum(r["in the course"] == "yes" for r in rows) == 8
    for d in T.DTYPES:
        for alias in d.aliases:
            assert getattr(torch, alias.removeprefix("torch.")) is d.dtype
        assert getattr(torch, d.legacy.removeprefix("torch."))().dtype == d.dtype


def test_reshape_view_error_and_index_moves():
    t = torch.arange(6.0).view(2, 3)
    res = T.reshape(t, "view", (-1,), transposed_first=True)
    assert res.tensor is None and res.error == torch_error(lambda: t.t().view(-1))
    assert "view size is not compatible" in res.error
    ok = T.reshape(t, "reshape", (-1,), transposed_first=True)
    assert ok.error is None and not ok.shares_memory and ok.tensor.tolist() == [0, 3, 1, 4, 2, 5]
    perm = T.reshape(torch.zeros(2, 3, 4), "permute", (2, 0, 1))
    assert perm.shares_memory and torch.equal(perm.source_index, torch.arange(24).view(2, 3, 4).permute(2, 0, 1))
    bad = T.reshape(t, "view", (4, 2))
    assert bad.error == torch_error(lambda: t.view(4, 2))


def test_broadcasting_aligned_shapes_and_real_error():
    res = TR.broadcast((4, 1, 3), (5, 1))
    assert res.aligned_b == (1, 5, 1) and res.result == tuple(torch.broadcast_shapes((4, 1, 3), (5, 1)))
    assert res.dims == ("b stretched", "a stretched", "b stretched")
    bad = TR.broadcast((2, 3), (4,))
    assert bad.result is None and "mismatch" in bad.dims
    assert bad.error == torch_error(lambda: torch.ones(2, 3) + torch.ones(4))


def test_promotion_and_inplace_division():
    assert TR.promote("int64", "float32", "+").dtype == "float32"
    assert TR.promote("int64", "int64", "/").dtype == "float32"  # true division since PyTorch 1.7
    assert TR.promote("uint8", "int8", "+").dtype == "int16"
    res = TR.inplace("int64", "/=")
    x = torch.tensor([10, 20, 30])

    def div():
        x.div_(7)
    assert res.error == torch_error(div)
    assert TR.inplace("float32", "/=").error is None


def test_matmul_shapes():
    assert TR.matmul_shapes((8, 2, 3), (3, 5)) == ((8, 2, 5), None)
    out, err = TR.matmul_shapes((2, 3), (4, 5))
    assert out is None and err == torch_error(lambda: torch.ones(2, 3) @ torch.ones(4, 5))


# ---------------------------------------------------------------- expression parser ---------
REJECTED = {
    "x.grad": "attribute", "x.__class__": "attribute", "os.system('ls')": "Only calls to",
    "foo(x)": "Unknown function `foo`", "getattr(x, 'y')": "Unknown function", "__import__('os')": "double underscores",
    "__builtins__": "double underscores", "x + __x": "double underscores", "x[0]": "indexing",
    "lambda: 1": "lambda", "[x for x in y]": "comprehensions", "exp(x=1)": "Keyword arguments", "'abc'": "strings",
    "x +": "Syntax error", "(x": "Syntax error", "import os": "Only one expression", "x; y": "Only one expression",
    "x < y": "comparisons", "(y := 2)": ":=", "x if y else z": "if / else", "f'{x}'": "f-strings",
    "x % 2": "`%`", "x // 2": "`//`", "x @ y": "`@`", "not x": "`not`", "exp(x, y)": "exactly one argument",
    "exp": "is a function", "x * é": "ASCII", "True * x": "True", "1j * x": "1j", "x = x + 1": "also an input",
    "x" * 5000: "5,000 characters", "exp(" * 50 + "x" + ")" * 50: "nested too deeply",
}


@pytest.mark.parametrize("text", list(REJECTED), ids=[k[:20] for k in REJECTED])
def test_parser_rejects_every_non_whitelisted_construct(text):
    with pytest.raises(E.ExprError) as err:
        E.parse(text)
    assert REJECTED[text].lower() in str(err.value).lower(), str(err.value)


@pytest.mark.parametrize("text,values,message", [
    ("1 / (x - 1)", {"x": 1.0}, "Division by zero"), ("x / 0", {"x": 2.0}, "Division by zero"),
    ("log(x - 2)", {"x": 2.0}, "log needs a positive input"), ("exp(x)", {"x": 1000.0}, "too large"),
])
def test_bad_values_get_a_clear_message(text, values, message):
    with pytest.raises(E.ExprError, match=message):
        E.build(E.parse(text), values)


CASES = [  # (expression, values, the same function written directly in PyTorch)
    ("h = sigmoid(relu(x*w + b) * 2 - 1)", {"x": 1.0, "w": 0.5, "b": -0.2},
     lambda x, w, b: torch.sigmoid(torch.relu(x * w + b) * 2 - 1)),
    ("x*x*x - 2*x + tanh(y)/y", {"x": 1.3, "y": 0.7}, lambda x, y: x * x * x - 2 * x + torch.tanh(y) / y),
    ("exp(-a) ** 2 + log(a*b) - -b", {"a": 0.4, "b": 2.5}, lambda a, b: torch.exp(-a) ** 2 + torch.log(a * b) + b),
]


@pytest.mark.parametrize("text,values,ref", CASES, ids=[c[0][:20] for c in CASES])
def test_graph_gradients_equal_torch_autograd_grad(text, values, ref):
    parsed = E.parse(text)
    graph = E.build(parsed, values, torch.float64)
    leaves = [torch.tensor(values[v], dtype=torch.float64, requires_grad=True) for v in parsed.variables]
    out = ref(*leaves)
    expected = torch.autograd.grad(out, leaves)
    assert graph.nodes[graph.output].value == pytest.approx(out.item(), rel=1e-12)
    by_name = {n.label: n for n in graph.nodes if n.op == "var"}
    steps = list(E.backward_steps(graph))
    for v, g in zip(parsed.variables, expected):
        assert by_name[v].grad == pytest.approx(g.item(), rel=1e-12, abs=1e-15)
        assert steps[-1].grads[by_name[v].id] == pytest.approx(g.item(), rel=1e-12, abs=1e-15)


def test_graph_is_topological_and_backward_runs_in_reverse():
    graph = E.build(E.parse("x*x + 3*x"), {"x": 1.0})
    assert all(i < n.id for n in graph.nodes for i in n.inputs)
    assert [n.op for n in graph.nodes].count("var") == 1  # x is one node used three times
    steps = list(E.backward_steps(graph))
    assert [s.node for s in steps] == [n.id for n in reversed(graph.nodes)]
    assert steps[0].upstream == 1.0 and steps[-1].grads[0] == pytest.approx(5.0)  # d/dx = 2x + 3


def test_gradient_accumulation_without_zero_grad():
    history = E.accumulate(E.parse("x*w"), {"x": 2.0, "w": 3.0}, times=3)
    assert [h["x"] for h in history] == [3.0, 6.0, 9.0] and [h["w"] for h in history] == [2.0, 4.0, 6.0]


def test_numerical_derivative_matches_for_sensible_h_and_breaks_for_tiny_h_in_float32():
    parsed = E.parse(CASES[0][0])
    values = CASES[0][1]
    exact = next(n.grad for n in E.build(parsed, values, torch.float64).nodes if n.label == "x")
    assert EN.numerical(parsed, values, "x", 1e-5, torch.float64) == pytest.approx(exact, rel=1e-7)
    assert EN.numerical(parsed, values, "x", 1e-2, torch.float32) == pytest.approx(exact, rel=1e-3)
    tiny = EN.numerical(parsed, values, "x", 1e-9, torch.float32)
    assert abs(tiny - exact) > 0.1 * abs(exact)  # x + h == x in float32: the difference is all rounding


# ---------------------------------------------------------------- nn.Module ------------------
def test_course_modules():
    lin, seq, named = M.course_linear(0), M.course_sequential(3), M.course_ordered(3)
    assert M.describe(lin).count == 6 and M.describe(seq).count == 36
    assert [k for k, _, _ in M.describe(named).state_dict] == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    for a, b in zip(seq.parameters(), named.parameters()):
        assert torch.equal(a, b)  # the same seed gives the same weights, whatever the names
    reference = nn.Sequential(OrderedDict([("fc1", nn.Linear(5, 5)), ("relu", nn.ReLU())]))
    assert isinstance(named.fc1, nn.Linear) and type(named.relu) is type(reference.relu)
    fw = M.forward_examples(seq, seed=1)
    assert fw.y_one.shape == (1,) and fw.y_batch.shape == (3, 1)
    assert torch.allclose(fw.y_batch, seq(fw.x_batch)) and ((fw.y_batch > 0) & (fw.y_batch < 1)).all()


def test_dtype_mismatch_is_the_real_error_and_the_fix_works():
    model = M.course_linear(0)
    mm = M.dtype_mismatch(model)
    assert mm.error == torch_error(lambda: model(torch.ones(1, 5, dtype=torch.float64)))
    assert torch.allclose(mm.fixed, model(torch.ones(1, 5))[0])
    assert M.device_mismatch(model, CPU).error  # meta stands in for a second device


def test_layer_list_builder():
    model = M.build_layers("Linear(5, 4)\nnn.Tanh()\nLinear(4, 2)\nSoftmax()")
    assert [type(m).__name__ for m in model] == ["Linear", "Tanh", "Linear", "Softmax"]
    for bad, msg in [("Linear(5, 3)\nLinear(4, 1)", "do not fit"), ("Linear(5)", "out_features"),
                     ("Evil(1)", "unknown layer"), ("Linear(x, 3)", "plain numbers"), ("import os", "not a layer"),
                     ("", "empty"), ("Linear(5, 9999)", "1 to 256")]:
        with pytest.raises(M.LayerError, match=msg):
            M.build_layers(bad)


# ---------------------------------------------------------------- losses and optimizers ------
def test_course_loss_examples():
    mse = O.mse(torch.tensor(O.MSE_DEFAULT[0]), torch.tensor(O.MSE_DEFAULT[1]))
    ce = O.cross_entropy(torch.tensor(O.CE_DEFAULT[0]), torch.tensor(O.CE_DEFAULT[1]))
    assert round(mse.torch, 4) == 3.6667 and round(ce.torch, 4) == 1.6856
    assert mse.by_hand == pytest.approx(mse.torch, rel=1e-6) and ce.by_hand == pytest.approx(ce.torch, rel=1e-6)
    assert mse.torch == pytest.approx(nn.MSELoss()(torch.tensor(O.MSE_DEFAULT[0]), torch.tensor(O.MSE_DEFAULT[1])).item())
    gen = torch.Generator().manual_seed(0)
    z, y = torch.randn(6, 4, generator=gen), torch.randint(0, 4, (6,), generator=gen)
    assert O.cross_entropy(z, y).by_hand == pytest.approx(F.cross_entropy(z, y).item(), rel=1e-6)


def test_activation_derivatives_from_autograd():
    curves = O.activation_curves(n=11)
    x, y, dy = curves["sigmoid"]
    assert np.allclose(dy, y * (1 - y), atol=1e-6)
    x, y, dy = curves["tanh"]
    assert np.allclose(dy, 1 - y ** 2, atol=1e-6)
    assert O.activations(torch.tensor([1.0, 2.0, 3.0]))["softmax"].sum() == pytest.approx(1.0)


@pytest.mark.parametrize("surface", ["rosenbrock", "saddle"])
@pytest.mark.parametrize("name", O.OPTIMIZERS)
def test_trajectories_equal_stepping_torch_optim_directly(surface, name):
    lr = O.DEFAULT_LRS[surface][name]
    path = O.race(surface, {name: lr}, 60)[name]
    f = O.SURFACES[surface].f
    p = torch.nn.Parameter(torch.tensor(O.SURFACES[surface].start, dtype=torch.float64))
    cls, kw = {"SGD": (torch.optim.SGD, {}), "SGD+momentum": (torch.optim.SGD, {"momentum": 0.9}),
               "RMSprop": (torch.optim.RMSprop, {}), "Adagrad": (torch.optim.Adagrad, {}),
               "Adam": (torch.optim.Adam, {})}[name]
    opt = cls([p], lr=lr, **kw)
    expected = [p.detach().clone()]
    for _ in range(60):
        opt.zero_grad()
        f(p[0], p[1]).backward()
        opt.step()
        expected.append(p.detach().clone())
    assert path.shape == (61, 4)
    np.testing.assert_array_equal(path[:, 1:3], torch.stack(expected).numpy())


def test_divergence_stops_the_trajectory():
    path = list(O.trajectory("bowl", "SGD", 2.0, 500))  # lr far above 2 / curvature: it blows up
    assert len(path) < 501 and (abs(path[-1].y) > O.BLOW_UP or not math.isfinite(path[-1].loss))


# ---------------------------------------------------------------- playground ----------------
@pytest.mark.parametrize("dataset", ["circles", "xor"])
def test_playground_reaches_95_percent_on_circles_and_xor(dataset, one_thread):
    cfg = P.PlaygroundConfig(dataset=dataset)  # the defaults: x1, x2 only, two tanh layers of 4
    data, model = P.make_data(cfg), P.build_model(cfg)
    best = max(s.test_acc for s in P.train_steps(cfg, model, data, 1500, eval_every=50))
    assert best >= 0.95


def test_datasets_are_seeded_balanced_and_split():
    for name in P.DATASETS:
        cfg = P.PlaygroundConfig(dataset=name, n_points=200, train_frac=0.7, seed=3)
        a, b = P.make_data(cfg), P.make_data(cfg)
        assert torch.equal(a.x_train, b.x_train) and len(a.y_train) == 140 and len(a.y_test) == 60
        assert torch.cat([a.y_train, a.y_test]).sum().item() == pytest.approx(100, abs=25)
        assert a.x_train.abs().max() <= P.LIM + 2
    assert not torch.equal(P.make_data(P.PlaygroundConfig(seed=1)).x_train, P.make_data(P.PlaygroundConfig()).x_train)


def test_features_grids_and_neuron_maps():
    cfg = P.PlaygroundConfig(features=tuple(P.FEATURES), hidden=(3, 2))
    p = torch.tensor([[3.0, -6.0]])
    assert P.featurize(p, cfg.features)[0].tolist() == pytest.approx(
        [1.0, -2.0, 1.0, 4.0, -2.0, math.sin(3.0), math.sin(-6.0)], rel=1e-6)
    model = P.build_model(cfg)
    prob, maps = P.views(cfg, model, 12)
    assert [m.shape for m in maps] == [(7, 12, 12), (3, 12, 12), (2, 12, 12)]
    assert prob.shape == (12, 12) and ((prob >= 0) & (prob <= 1)).all()
    corners = torch.tensor([[-P.LIM, P.LIM], [P.LIM, -P.LIM]])  # grid row 0 is the top: (0, 0) and (11, 11)
    expected = P.prob_class1(cfg, model(P.featurize(corners, cfg.features))).detach().numpy()
    assert np.allclose([prob[0, 0], prob[-1, -1]], expected, atol=1e-6)


def test_query_params_round_trip_and_bad_values():
    cfg = P.PlaygroundConfig(dataset="spiral", noise=0.25, features=("x1", "sin(x2)"), hidden=(), lr=0.1, l2=0.001,
                             loss="mse", optimizer="sgd", seed=9)
    assert PS.from_params(PS.to_params(cfg)) == (cfg, [])
    back, problems = PS.from_params({"dataset": "nope", "hidden": "9,9", "lr": "abc", "seed": "4", "features": "x1,evil"})
    assert back == P.PlaygroundConfig(seed=4) and len(problems) == 4


def test_cross_entropy_written_out_equals_f_cross_entropy():
    cfg = P.PlaygroundConfig()
    out, y = torch.randn(7, 2, generator=torch.Generator().manual_seed(0)), torch.tensor([0, 1, 1, 0, 1, 0, 0])
    model = P.build_model(cfg)
    assert P.loss_fn(cfg, model, out, y).item() == pytest.approx(F.cross_entropy(out, y).item(), rel=1e-6)
    assert torch.allclose(P.prob_class1(cfg, out), torch.softmax(out, 1)[:, 1])


def test_exported_script_runs_and_reproduces_the_page(tmp_path, one_thread):
    cfg = P.PlaygroundConfig(dataset="moons", features=tuple(P.FEATURES), hidden=(5,), activation="relu", lr=0.1,
                             batch_size=25, l2=0.001, loss="mse", optimizer="sgd", seed=2)
    script = tmp_path / "exported.py"
    script.write_text(PS.export_script(cfg))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    run = subprocess.run([sys.executable, str(script), "120"], capture_output=True, text=True, timeout=120, env=env)
    assert run.returncode == 0, run.stderr
    *_, last = P.train_steps(cfg, P.build_model(cfg), P.make_data(cfg), 120, eval_every=120)
    assert f"test: loss {last.test_loss:.4f}, accuracy {last.test_acc:.4f}" in run.stdout, run.stdout


def test_reshape_transpose_with_wrong_argument_count_is_a_message_not_an_exception():
    from dl_core import tensors as T

    t = torch.arange(6.0).view(2, 3)
    for args in [(0,), (0, 1, 1), ()]:
        res = T.reshape(t, "transpose", args)
        assert res.tensor is None and "exactly two dimensions" in res.error
    assert T.reshape(t, "transpose", (0, 1)).tensor.shape == (3, 2)
