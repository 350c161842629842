"""Transformer attention: placeholder until its issue lands."""
from ui.common import placeholder

placeholder("Transformer attention", "Multi-head and masked attention you can take apart.", "the transformer page (attention step by step, masks side by side, a trained little transformer) is planned.")
