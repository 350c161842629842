"""The terms the day uses, one or two plain sentences each, with the page where each is shown."""
from __future__ import annotations

# term -> (explanation, page script where it is shown)
TERMS: dict[str, tuple[str, str]] = {
    "tensor": ("An n-dimensional array with a dtype and a device; PyTorch's basic data structure.", "pages/basics.py"),
    "shape": ("The size of each dimension of a tensor, e.g. (batch, channels, height, width).", "pages/basics.py"),
    "broadcasting": ("Stretching dimensions of size 1 so that tensors of different shapes can be combined "
                     "element by element.", "pages/basics.py"),
    "dtype": ("The number type of a tensor's elements: float32, int64, bool ...", "pages/basics.py"),
    "autograd": ("PyTorch's automatic differentiation: it records the operations on tensors that require "
                 "gradients and computes derivatives with backward().", "pages/basics.py"),
    "gradient": ("How much a loss changes when one parameter changes a little; training moves parameters "
                 "against it.", "pages/basics.py"),
    "nn.Module": ("A PyTorch building block with parameters and a forward() method; models are modules made "
                  "of modules.", "pages/basics.py"),
    "loss": ("One number that says how wrong the model is on a batch; training makes it smaller.", "pages/basics.py"),
    "optimizer": ("The rule that updates parameters from their gradients: SGD, SGD with momentum, Adam ...",
                  "pages/basics.py"),
    "learning rate": ("The step size of the optimizer.", "pages/basics.py"),
    "momentum": ("SGD that keeps a running direction: each step adds a fraction of the previous step.",
                 "pages/cnn.py"),
    "epoch": ("One pass over the whole training set.", "pages/cnn.py"),
    "batch": ("The handful of examples used for one gradient step.", "pages/cnn.py"),
    "convolution": ("Sliding a small kernel over an image and taking a weighted sum at every position.",
                    "pages/cnn.py"),
    "kernel / filter": ("The small grid of learned weights a convolution slides over its input.", "pages/cnn.py"),
    "feature map": ("The output of one filter over the whole image: where that pattern was found.", "pages/cnn.py"),
    "pooling": ("Shrinking a feature map by keeping the maximum (or mean) of each small window.", "pages/cnn.py"),
    "ReLU": ("max(0, x): the non-linearity between layers.", "pages/cnn.py"),
    "softmax": ("Turns scores into probabilities that sum to 1. A high softmax probability is not certainty: "
                "the model must pick among its classes even for a scribble.", "pages/cnn.py"),
    "saliency": ("The gradient of the predicted score with respect to the input pixels: which pixels mattered.",
                 "pages/cnn.py"),
    "hidden state": ("What a recurrent network carries from one time step to the next.", "pages/rnn.py"),
    "RNN": ("A recurrent network: the same cell applied at every time step, fed its own previous state.",
            "pages/rnn.py"),
    "LSTM": ("An RNN with a cell state and input, forget and output gates, so it can keep information for "
             "long.", "pages/rnn.py"),
    "gate": ("A sigmoid between 0 and 1 that decides how much of something passes.", "pages/rnn.py"),
    "vanishing gradient": ("Gradients that shrink step by step as they flow back through time or depth, so "
                           "early inputs stop being learned from.", "pages/rnn.py"),
    "GAN": ("A generator that makes samples and a discriminator that tells real from fake, trained against "
            "each other.", "pages/gan.py"),
    "latent vector": ("The short random or learned vector a generator or decoder turns into an image.",
                      "pages/gan.py"),
    "encoder-decoder": ("One network squeezes the input into a representation, another unfolds it into the "
                        "output.", "pages/seq2seq.py"),
    "autoencoder": ("An encoder-decoder trained to reproduce its input through a small bottleneck.",
                    "pages/seq2seq.py"),
    "beam search": ("Decoding that keeps the k best partial outputs at every step instead of only the best.",
                    "pages/seq2seq.py"),
    "diffusion model": ("A network trained to remove a little noise; applied many times it turns noise into "
                        "data.", "pages/diffusion.py"),
    "noise schedule": ("How much noise is added at each diffusion step (beta_t), and how much signal is left "
                       "(alpha-bar_t).", "pages/diffusion.py"),
    "guidance": ("Pushing a diffusion sample towards the requested class by mixing conditional and "
                 "unconditional predictions.", "pages/diffusion.py"),
    "latent diffusion": ("Diffusion in an autoencoder's small latent space instead of on pixels.",
                         "pages/diffusion.py"),
    "attention": ("Each query compares itself with every key (q·k / sqrt(d)), softmaxes the scores and "
                  "averages the values with those weights.", "pages/transformer.py"),
    "Q, K, V": ("Queries, keys and values: three linear projections of the tokens used by attention.",
                "pages/transformer.py"),
    "mask": ("Scores set to minus infinity before the softmax, so some positions (the future, padding) get "
             "no attention.", "pages/transformer.py"),
    "multi-head attention": ("Several attention computations side by side, each on its own slice of the "
                             "vector.", "pages/transformer.py"),
    "positional encoding": ("Vectors added to token embeddings so that attention can tell positions apart.",
                            "pages/transformer.py"),
    "reinforcement learning": ("Learning to act from rewards: an agent tries actions in an environment and "
                               "improves its policy.", "pages/rl.py"),
    "policy": ("The agent's rule for choosing an action in a state.", "pages/rl.py"),
    "value function": ("The expected sum of discounted future rewards from a state (V) or a state-action "
                       "pair (Q).", "pages/rl.py"),
    "discount factor (gamma)": ("How much a reward one step later is worth now: a reward k steps away counts "
                                "gamma^k.", "pages/rl.py"),
    "DQN": ("Deep Q-network: a network estimates Q-values, trained on replayed transitions towards a target "
            "network's TD target.", "pages/rl.py"),
    "TD3": ("Twin Delayed DDPG: an actor-critic for continuous actions with two critics, target smoothing and "
            "delayed actor updates.", "pages/rl.py"),
}


def search(query: str, limit: int = 100) -> list[tuple[str, str, str]]:
    """(term, explanation, page) whose term or explanation contains ``query`` (case-insensitive)."""
    q = query.strip().lower()[:50]
    hits = [(t, e, p) for t, (e, p) in TERMS.items() if not q or q in t.lower() or q in e.lower()]
    return sorted(hits, key=lambda h: h[0].lower())[:limit]
