"""Encoder-decoder: placeholder until its issue lands."""
from ui.common import placeholder

placeholder("Encoder-decoder", "Squeeze a sequence into a context vector, then unfold it.", "the encoder-decoder page (seq2seq with and without attention, beam search, an image autoencoder) is planned.")
