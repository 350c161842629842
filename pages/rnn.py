"""RNN and LSTM gates: placeholder until its issue lands."""
from ui.common import placeholder

placeholder("RNN and LSTM gates", "Watch the hidden state and every gate of an LSTM, step by step.", "the RNN / LSTM page (gate heatmaps, vanishing gradients, a training race) is planned.")
