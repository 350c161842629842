"""Tabular RL on an editable GridWorld: value iteration and Q-learning (Sutton & Barto, ch. 4 and 6.5).

The grid is an (H, W) int array of cell kinds. Reward cells are terminal: stepping onto one pays its
reward and ends the episode. Moves are deterministic; bumping into a wall or the edge stays put.
Both algorithms are generators, one sweep or one episode at a time, so the page can show each one.
"""
from __future__ import annotations

from collections import deque
from typing import Iterator, NamedTuple

import numpy as np

EMPTY, WALL, GOAL, PIT, START = 0, 1, 2, 3, 4
KINDS = {EMPTY: "empty", WALL: "wall", GOAL: "reward +1", PIT: "reward -1", START: "start"}
REWARD = {GOAL: 1.0, PIT: -1.0}
ACTIONS = ("up", "right", "down", "left")
MOVES = np.array([(-1, 0), (0, 1), (1, 0), (0, -1)])  # (4, [drow, dcol])
ARROWS = ("\u2191", "\u2192", "\u2193", "\u2190")
MAX_CELLS = 15 * 15  # the page's largest grid

DEFAULT = np.array([  # 6 x 8, a wall with a gap, two pits by the goal
    [0, 0, 0, 0, 0, 0, 0, 2],
    [0, 1, 1, 1, 0, 1, 0, 3],
    [0, 0, 0, 1, 0, 1, 0, 0],
    [0, 3, 0, 1, 0, 0, 0, 1],
    [0, 1, 0, 0, 0, 1, 0, 0],
    [4, 1, 0, 1, 0, 0, 3, 0],
])


def terminal(grid: np.ndarray) -> np.ndarray:
    return (grid == GOAL) | (grid == PIT)  # (H, W) bool


def step(grid: np.ndarray, cell: tuple[int, int], a: int) -> tuple[tuple[int, int], float, bool]:
    """(next cell, reward, episode over) for action ``a`` in ``cell``."""
    h, w = grid.shape
    r, c = cell[0] + MOVES[a][0], cell[1] + MOVES[a][1]
    if not (0 <= r < h and 0 <= c < w) or grid[r, c] == WALL:
        r, c = cell
    kind = int(grid[r, c])
    return (int(r), int(c)), REWARD.get(kind, 0.0), kind in REWARD


def start_cell(grid: np.ndarray) -> tuple[int, int] | None:
    found = np.argwhere(grid == START)
    return (int(found[0][0]), int(found[0][1])) if len(found) else None


def reachable(grid: np.ndarray, start: tuple[int, int]) -> np.ndarray:
    """Cells reachable from ``start`` (breadth-first search; terminal cells are entered, not left)."""
    seen = np.zeros(grid.shape, bool)
    seen[start] = True
    todo = deque([start])
    while todo:
        cell = todo.popleft()
        if terminal(grid)[cell]:
            continue
        for a in range(4):
            nxt, _, _ = step(grid, cell, a)
            if not seen[nxt]:
                seen[nxt] = True
                todo.append(nxt)
    return seen


def validate(grid: np.ndarray, gamma: float) -> str | None:
    """A clear message when the grid cannot be solved as asked, else None."""
    if grid.ndim != 2 or grid.size == 0 or grid.size > MAX_CELLS:
        return f"The grid must be 2-D with 1 to {MAX_CELLS} cells."
    if not np.isin(grid, list(KINDS)).all():
        return "The grid holds an unknown cell kind."
    if (grid == WALL).all():
        return "The grid is all walls: there is no cell for the agent to stand on. Turn some walls back into empty cells."
    start = start_cell(grid)
    if start is None:
        return "There is no start cell: pick 'start' and click a cell."
    if not terminal(grid).any() and gamma >= 1.0:
        return ("gamma = 1 with no terminal state: every return is an endless sum, so the values never converge. "
                "Add a reward cell (rewards end the episode) or lower gamma below 1.")
    if not (reachable(grid, start) & (grid == GOAL)).any():
        if not (reachable(grid, start) & terminal(grid)).any():
            return ("There is no path from the start to any reward: walls cut it off (or there is no reward cell). "
                    "Open a path or place a reward where the agent can reach it.")
        return "Only negative rewards are reachable from the start: the best the agent can do is never end. Add a +1 cell it can reach."
    return None


def q_from_v(grid: np.ndarray, v: np.ndarray, gamma: float) -> np.ndarray:
    """Q(s, a) = r(s, a) + gamma * V(s') (0 after a terminal step): (H, W, 4)."""
    h, w = grid.shape
    q = np.zeros((h, w, 4))
    for r in range(h):
        for c in range(w):
            if grid[r, c] == WALL or terminal(grid)[r, c]:
                continue
            for a in range(4):
                nxt, rew, done = step(grid, (r, c), a)
                q[r, c, a] = rew + (0.0 if done else gamma * v[nxt])
    return q


class Sweep(NamedTuple):
    sweep: int  # 1, 2, ...
    v: np.ndarray  # (H, W) V(s) after this sweep (0 on walls and terminals)
    delta: float  # largest change of any V(s) in this sweep


def value_iteration(grid: np.ndarray, gamma: float, tol: float = 1e-4, max_sweeps: int = 200) -> Iterator[Sweep]:
    """V(s) <- max_a [ r(s, a) + gamma * V(s') ], all states at once (synchronous), until delta < tol."""
    v = np.zeros(grid.shape)
    for k in range(1, max_sweeps + 1):
        new = q_from_v(grid, v, gamma).max(-1)  # (H, W)
        new[(grid == WALL) | terminal(grid)] = 0.0
        delta = float(np.abs(new - v).max())
        v = new
        yield Sweep(k, v.copy(), delta)
        if delta < tol:
            return


class Episode(NamedTuple):
    q: np.ndarray  # (H, W, 4) Q after the episode
    path: list  # [(row, col), ...] cells visited, start first
    ret: float  # sum of rewards
    steps: int


def q_episode(grid: np.ndarray, q: np.ndarray, alpha: float, gamma: float, epsilon: float,
              rng: np.random.Generator, max_steps: int = 200) -> Episode:
    """One epsilon-greedy episode of Q-learning from the start cell; returns a new Q (the input is not changed).
    Q(s, a) <- Q(s, a) + alpha * [ r + gamma * max_a' Q(s', a') - Q(s, a) ]"""
    q = q.copy()
    cell = start_cell(grid)
    path, ret = [cell], 0.0
    for _ in range(max_steps):
        if rng.random() < epsilon:
            a = int(rng.integers(4))
        else:
            best = np.flatnonzero(q[cell] == q[cell].max())
            a = int(rng.choice(best))  # ties broken at random
        nxt, r, done = step(grid, cell, a)
        target = r + (0.0 if done else gamma * q[nxt].max())
        q[cell][a] += alpha * (target - q[cell][a])
        cell, ret = nxt, ret + r
        path.append(cell)
        if done:
            break
    return Episode(q, path, ret, len(path) - 1)


def greedy(q: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Greedy action per cell, -1 on walls, terminals and cells where all Q are equal: (H, W)."""
    a = q.argmax(-1)
    flat = np.isclose(q.max(-1), q.min(-1))
    a[(grid == WALL) | terminal(grid) | flat] = -1
    return a


class ActionTerm(NamedTuple):
    action: str
    next_cell: tuple
    reward: float
    next_value: float  # V(s') or max_a' Q(s', a'); 0 when the step ends the episode
    total: float  # reward + gamma * next_value


class Bellman(NamedTuple):
    cell: tuple
    gamma: float
    terms: list  # ActionTerm per action
    best: int  # index of the best action
    old: float  # V(s) or Q(s, best) now
    new: float  # after one update (value iteration: the max; Q-learning: old + alpha * (total - old))
    alpha: float | None  # None for value iteration


def analyse(grid: np.ndarray, cell: tuple[int, int], gamma: float, v: np.ndarray | None = None,
            q: np.ndarray | None = None, alpha: float | None = None) -> Bellman | None:
    """The Bellman update of one cell with the live numbers: from ``v`` (value iteration) or ``q``
    (Q-learning, then the update of the greedy action with step size ``alpha``). None on walls/terminals."""
    cell = (int(cell[0]), int(cell[1]))
    if grid[cell] == WALL or terminal(grid)[cell]:
        return None
    terms = []
    for a in range(4):
        nxt, r, done = step(grid, cell, a)
        nv = 0.0 if done else float(v[nxt] if q is None else q[nxt].max())
        terms.append(ActionTerm(ACTIONS[a], nxt, r, nv, r + gamma * nv))
    if q is None:
        best = int(np.argmax([t.total for t in terms]))
        return Bellman(cell, gamma, terms, best, float(v[cell]), terms[best].total, None)
    best = int(q[cell].argmax())
    old = float(q[cell][best])
    return Bellman(cell, gamma, terms, best, old, old + alpha * (terms[best].total - old), alpha)
