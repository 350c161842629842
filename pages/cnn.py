"""CNN page: draw a digit and watch a real PyTorch CNN see it."""
import streamlit as st

from dl_core import cnn, digits
from dl_core.cnn_train import train_steps
from ui import charts, cnn_kernel, cnn_training, cnn_views, my_digit
from ui.common import page_start, show_code, sidebar_status
from ui.models import CNN_NAMES, model_card, shipped_cnn
from ui.tabs import lazy_tabs

page_start(
    "A CNN sees your digit",
    "Draw a digit (or pick a font digit, or upload a photo). It is cropped, scaled into 20x20 and "
    "centred by its centre of mass in 28x28, exactly how MNIST itself was made, then fed through a "
    "real PyTorch CNN. Below: the class probabilities, every filter, the feature maps after each "
    "conv / ReLU / pooling step, and the pixels that mattered most.",
)

options = list(CNN_NAMES)
if "cnn_user_model" in st.session_state:
    options.append("yours")
labels = dict(CNN_NAMES, yours=f"Your trained model ({st.session_state.get('cnn_user_label', '')})")
choice = st.radio("Model", options, format_func=labels.get, key="cnn_model", horizontal=True)
if choice == "yours":
    model, model_key = st.session_state["cnn_user_model"], f"user-{id(st.session_state['cnn_user_model'])}"
    st.caption(f"Trained in this session: test accuracy {100 * st.session_state['cnn_user_acc']:.2f}%.")
else:
    model, model_key = shipped_cnn(choice), f"shipped-{choice}"
    card = model_card(f"cnn_{choice}")
    st.caption(f"Shipped weights: test accuracy **{100 * card['test_accuracy']:.2f}%** on the 10,000 MNIST "
               f"test images, {card['parameters']:,} parameters, trained in {card['train_time_s']:.0f} s by "
               f"`{card['command']}`.")

# Lazy tabs: only the open tab runs, so a stroke reruns the drawing and its open view, not every chart.
# Kept widget values: every cnn_ widget except the kernel's data editor (Streamlit refuses writes to it).
KEEP = ("cnn_source", "cnn_font_", "cnn_stage", "cnn_view_tab", "cnn_train_", "cnn_kernel_preset",
        "cnn_kernel_stride", "cnn_kernel_padding", "cnn_kernel_pos")
see, train = lazy_tabs(["See it", "Train it yourself"], "cnn_tab", keep=KEEP)
if see.open:
    with see:
        left, right = st.columns([1, 1.4], gap="large")
        with left:
            ink, message = cnn_views.input_panel()
        prep = digits.prepare(ink) if ink is not None else None
        with right:
            if prep is None:
                st.info(message or "The drawing is empty: draw a digit to see the network at work.",
                        icon=":material/draw:")
            else:  # the Prediction first: it reaches the browser before any chart
                x_bytes = prep.x.numpy().astype("float32").tobytes()
                res = cnn_views.analysis(model_key, x_bytes, model)
                st.session_state["course_cnn_last_pred"] = res["pred"]  # the Course page's "find a mistake" task
                my_digit.remember(prep.centred)  # travels to the nn.Module tab, diffusion, the autoencoder
                st.metric("Prediction", str(res["pred"]), f"{100 * res['probs'][res['pred']]:.1f}% confident",
                          delta_color="off", delta_arrow="off")
                if not (look := digits.looks_like_digit(prep)).ok:
                    st.warning(f"**This does not look like a digit:** {look.reason}. The network answers anyway: "
                               "its softmax always shares 100% among the ten classes, so a high probability is "
                               "not certainty.", icon=":material/help:")
                charts.show(charts.prob_bars_vl(res["probs"], res["pred"]))
                cnn_views.preprocessing_strip(x_bytes, prep)
        if prep is not None:
            views = lazy_tabs(["Feature maps", "Filters", "Saliency", "Architecture"], "cnn_view_tab", keep=KEEP)
            if views[0].open:
                with views[0]:
                    cnn_views.feature_maps(model_key, x_bytes, res)
            if views[1].open:
                with views[1]:
                    cnn_views.filters(model_key, model)
            if views[2].open:
                with views[2]:
                    cnn_views.saliency(model_key, x_bytes, res, prep)
            if views[3].open:
                with views[3]:
                    cnn_views.architecture(res)
        st.subheader("Kernel playground")
        cnn_kernel.kernel_playground(prep.centred if prep is not None else cnn_views.example_digit())
        show_code(type(model), cnn.trace, cnn.saliency, digits.prepare, cnn.conv2d_by_hand, cnn.conv_window)
if train.open:
    with train:
        cnn_training.tab()
        show_code(train_steps, title="Show the training code")

sidebar_status()
