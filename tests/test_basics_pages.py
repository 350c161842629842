"""AppTest for the PyTorch basics page: every tab, its widgets driven by key, bad input, the URL."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dl_core import playground as P
from dl_core import playground_share as PS

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def page(tab: str | None = None, query: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.switch_page("pages/basics.py")
    for k, v in (query or {}).items():
        at.query_params[k] = v
    if tab:
        at.session_state["basics_tab"] = tab
    return ok(at.run())


def texts(at: AppTest) -> str:
    return "\n".join([m.value for m in at.markdown] + [c.value for c in at.caption] + [c.value for c in at.code]
                     + [e.value for e in at.error] + [w.value for w in at.warning] + [i.value for i in at.info]
                     + [s.value for s in at.success])


def test_tensors_tab():
    at = page()
    assert at.tabs[0].label == "Tensors" and any("torch.tensor([[1, 2, 3]" in c.value for c in at.code)
    at.selectbox(key="basics_t_source").set_value("numpy").run()
    at.selectbox(key="basics_t_dtype").set_value("float64").run()
    assert "torch.from_numpy(a)" in texts(ok(at)) and "float64" in texts(at)
    at.selectbox(key="basics_t_source").set_value("rand").run()
    at.selectbox(key="basics_t_dtype").set_value("int64").run()
    assert any("not implemented for 'Long'" in e.value for e in ok(at).error)  # PyTorch's own words
    at.selectbox(key="basics_t_dtype").set_value("float32").run()
    at.text_input(key="basics_t_shape").set_value("3, x").run()
    assert any("whole numbers" in e.value for e in ok(at).error)
    at.text_input(key="basics_t_shape").set_value("3, 4").run()
    at.checkbox(key="basics_t_transposed").check().run()
    at.text_input(key="basics_t_args_view").set_value("-1").run()
    assert any("view size is not compatible" in e.value for e in ok(at).error)
    at.selectbox(key="basics_t_op").set_value("reshape").run()
    assert "a copy" in texts(ok(at))
    at.selectbox(key="basics_t_op").set_value("transpose").run()
    at.text_input(key="basics_t_args_transpose").set_value("0").run()  # one dimension: a message, no traceback
    assert any("exactly two dimensions" in w.value for w in ok(at).warning)
    at.selectbox(key="basics_t_op").set_value("reshape").run()
    at.text_input(key="basics_t_bc_b").set_value("4, 2").run()
    assert any("must match the size of tensor b" in e.value for e in ok(at).error)
    at.selectbox(key="basics_t_pb").set_value("int64").run()
    at.selectbox(key="basics_t_pop").set_value("/").run()
    assert "dtype **torch.float32**" in texts(ok(at))
    assert any("can't be cast to the desired output type Long" in e.value for e in at.error)
    at.selectbox(key="basics_t_ip_dtype").set_value("float64").run()
    assert "x is now" in texts(ok(at))
    at.text_input(key="basics_t_mm_b").set_value("4, 5").run()
    assert any("cannot be multiplied" in e.value for e in ok(at).error)


def test_tensors_bad_values_get_a_message():
    at = page()
    for bad in ("", "[[1, 2], [3]]", "__import__('os')", "[" * 100 + "1" + "]" * 100, "[1e999]"):
        at.text_input(key="basics_t_values").set_value(bad).run()
        assert ok(at).error, bad


def test_autograd_tab_step_by_step():
    at = page("Autograd")
    assert at.get("graphviz_chart"), "the computation graph is drawn"
    at.text_input(key="basics_expr").set_value("y = x*x + 3*x").run()
    at.number_input(key="basics_var_x").set_value(2.0).run()
    assert "dy/dx = ?" in texts(ok(at))
    n = 5  # x, x*x, 3, 3*x, the sum
    for k in range(1, n + 1):
        at.button(key="basics_btn_back_next").click().run()
        assert ok(at).slider(key="basics_back_k").value == k
    assert "**dy/dx = 7.0000**" in texts(at)  # 2x + 3 at x = 2
    assert "Identical to `.grad`" in texts(at)
    dot = at.get("graphviz_chart")[0].proto.spec
    assert "grad 7" in dot and "grad ?" not in dot
    at.button(key="basics_btn_back_reset").click().run()
    assert ok(at).slider(key="basics_back_k").value == 0
    at.button(key="basics_btn_back_all").click().run()
    assert ok(at).slider(key="basics_back_k").value == n


def test_autograd_accumulation_and_numerical_derivative():
    at = page("Autograd")
    at.button(key="basics_btn_acc_more").click().run()
    at.button(key="basics_btn_acc_more").click().run()
    table = ok(at).table[0].value
    assert len(table) == 3 and table["x.grad"].iloc[2] == pytest.approx(3 * table["x.grad"].iloc[0])
    at.button(key="basics_btn_acc_zero").click().run()
    assert len(ok(at).table[0].value) == 1
    assert not at.warning
    at.select_slider(key="basics_num_h").set_value(1e-9).run()
    assert any("off by" in w.value for w in ok(at).warning)
    at.radio(key="basics_num_dtype").set_value("float64").run()
    at.select_slider(key="basics_num_h").set_value(1e-5).run()
    assert not ok(at).warning


@pytest.mark.parametrize("bad,message", [("x.grad", "attribute access"), ("foo(x)", "Unknown function"),
                                         ("__import__('os')", "double underscores"), ("x +", "Syntax error"),
                                         ("1/(x-1)", "Division by zero"), ("x" * 5000, "5,000 characters")])
def test_autograd_bad_expressions(bad, message):
    at = page("Autograd")
    at.text_input(key="basics_expr").set_value(bad).run()
    assert any(message in e.value for e in ok(at).error), [e.value for e in at.error]


def test_module_tab():
    at = page("nn.Module")
    assert ok(at).metric[0].value == "6"
    at.radio(key="basics_mod_choice").set_value("sequential").run()
    assert ok(at).metric[0].value == "36"
    at.radio(key="basics_mod_choice").set_value("ordered").run()
    assert "fc1.weight" in ok(at).dataframe[0].value["key"].tolist()
    assert any("must have the same dtype" in e.value for e in at.error)
    at.radio(key="basics_mod_choice").set_value("custom").run()
    at.text_area(key="basics_mod_layers").set_value("Linear(5, 8)\nTanh()\nLinear(8, 3)").run()
    assert ok(at).metric[0].value == f"{5 * 8 + 8 + 8 * 3 + 3}"
    at.text_area(key="basics_mod_layers").set_value("Linear(5, 8)\nLinear(7, 1)").run()
    assert any("do not fit" in e.value for e in ok(at).error)
    at.text_area(key="basics_mod_layers").set_value("os.system('rm -rf /')").run()
    assert ok(at).error
    at.number_input(key="basics_mod_seed").set_value(3).run()
    ok(at)


def test_losses_tab():
    at = page("Losses & optimizers")
    values = {m.label: m.value for m in ok(at).metric}
    assert values["nn.MSELoss()(pred, target)"] == "3.6667"
    assert values["nn.CrossEntropyLoss()(logits, target)"] == "1.6856"
    at.text_input(key="basics_mse_target").set_value("[1.0, 2.0]").run()
    assert any("same shape" in w.value for w in ok(at).warning)
    at.text_input(key="basics_ce_target").set_value("[2, 7]").run()
    assert any("whole class number" in w.value for w in ok(at).warning)
    at.text_input(key="basics_act_vec").set_value("[1, 'x']").run()
    assert ok(at).warning
    at.selectbox(key="basics_opt_surface").set_value("saddle").run()
    at.slider(key="basics_opt_steps").set_value(100).run()
    at.number_input(key="basics_opt_lr_saddle_SGD").set_value(0.1).run()
    frame = ok(at).dataframe[0].value
    assert frame["steps"].tolist() == [100] * 5
    at.multiselect(key="basics_opt_which").set_value([]).run()
    assert any("at least one optimizer" in i.value for i in ok(at).info)


def test_playground_step_play_reset_and_url():
    at = page("Playground")
    steps = lambda: next(m.value for m in at.metric if m.label.startswith("Steps"))  # noqa: E731
    assert steps().startswith("0 ")
    at.button(key="basics_btn_pg_step").click().run()
    assert ok(at).session_state["basics_pg_state"]["history"][-1].step == 1
    at.button(key="basics_btn_pg_play").click().run()  # one tick runs right away
    s = ok(at).session_state["basics_pg_state"]
    assert s["playing"] and s["history"][-1].step > 1
    at.button(key="basics_btn_pg_play").click().run()  # pause
    assert not at.session_state["basics_pg_state"]["playing"]
    at.button(key="basics_btn_pg_reset").click().run()
    assert ok(at).session_state["basics_pg_state"]["history"][-1].step == 0
    at.selectbox(key="basics_pg_dataset").set_value("xor").run()
    at.slider(key="basics_pg_layers").set_value(3).run()
    ok(at)
    assert at.query_params["pg_dataset"] == "xor" and at.query_params["pg_hidden"] == "4,4,4"
    assert any("python this_file.py" in c.value for c in at.code), "Export as code shows the script"
    at.pills(key="basics_pg_features").set_value([]).run()
    assert any("at least one input feature" in w.value for w in ok(at).warning)


def test_playground_setup_comes_from_the_link():
    cfg = P.PlaygroundConfig(dataset="spiral", noise=0.2, features=("x1", "x2", "sin(x1)"), hidden=(8, 6, 3),
                             activation="relu", lr=0.01, batch_size=25, l2=0.001, loss="mse", optimizer="sgd", seed=5)
    query = {"basics_tab": "Playground", **{f"pg_{k}": v for k, v in PS.to_params(cfg).items()}}
    at = page(query=query)
    assert ok(at).session_state["basics_pg_state"]["cfg"] == cfg
    bad = page(query={"basics_tab": "Playground", "pg_dataset": "evil", "pg_lr": "lots"})
    assert any("could not be used" in w.value for w in bad.warning)
    assert bad.session_state["basics_pg_state"]["cfg"].dataset == "circles"


def test_widget_values_survive_a_tab_switch():
    at = page("Autograd")
    at.text_input(key="basics_expr").set_value("z = exp(a) * a").run()
    at.session_state["basics_tab"] = "Tensors"
    ok(at.run())
    at.session_state["basics_tab"] = "Autograd"
    ok(at.run())
    assert at.text_input(key="basics_expr").value == "z = exp(a) * a"

