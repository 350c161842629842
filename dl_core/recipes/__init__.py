"""One module per trainable model. Each defines ``register(subparsers)``, adding its sub-command(s)
of ``python -m dl_core.train`` with ``set_defaults(run=...)``; ``run(args)`` returns the model card."""
