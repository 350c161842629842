"""PyTorch-only core of Deep Learning, Visually: models, data, training. No Streamlit here."""
import os

# On a shared 2-core server, OpenMP threads that busy-wait make small ops 10-100x slower for
# everyone else; sleeping threads cost a single user almost nothing. Must be set before torch loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
