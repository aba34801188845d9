"""Trusted scenarios of 02_autograd. Each takes an implementation and returns plain data.

The expected values come from the reference, which the kit's own tests hold equal to
torch.autograd in float64 (tests/test_autograd_reference.py).
"""
import torch


def _generator(seed):
    return torch.Generator().manual_seed(3000 + seed)


def _randn(g, *shape):
    return torch.randn(shape, generator=g, dtype=torch.float64)


# Each expression takes a list of leaves (Value or 0-dim tensor) and an `ops` adapter,
# so the same formula builds a Value graph or a torch graph.
def _slides(v, ops):
    x, y = v
    return x ** 2 + y ** 2


def _reuse(v, ops):
    x, y, z = v
    a = x * y                    # used three times below
    b = a + a * x
    c = ops.tanh(b) * a + ops.relu(z * a)
    return c + a ** 2 - x / y


def _deep(v, ops):
    x, y, z = v
    h = ops.exp(x * 0.5) + y * z
    for _ in range(3):
        h = ops.tanh(h) * x + h * 0.5    # h reused in each layer
    return ops.relu(h + 2.0) * h + (z ** 3) * (-1.5)


def _negative_relu(v, ops):
    x, y = v
    return ops.relu(x * y) + ops.relu(x - y) * x


def _same_operand(v, ops):
    x, y = v
    return (x + x) * y + y * y   # one node on both sides: its gradient adds up twice


def _relu_kink(v, ops):
    x, y = v
    # relu at exactly 0 (derivative 0), and between 0 and 1 (derivative 1)
    return ops.relu(x - y) * x + ops.relu(y * 0.0) * y + ops.relu(x * 0.4) * y


EXPRESSIONS = {"slides: z = x^2 + y^2 at (2, 3)": (_slides, [2.0, 3.0]),
               "a node reused several times": (_reuse, [0.7, -1.3, 0.4]),
               "a deeper graph": (_deep, [0.3, -0.8, 1.1]),
               "relu on both sides of 0": (_negative_relu, [-0.6, 1.4]),
               "one node on both sides of + and *": (_same_operand, [1.3, -0.7]),
               "relu at exactly 0": (_relu_kink, [1.5, 1.5])}


class _ValueOps:
    tanh = staticmethod(lambda v: v.tanh())
    relu = staticmethod(lambda v: v.relu())
    exp = staticmethod(lambda v: v.exp())


def value_engine(impl, *, seed, device, twice=False):
    """Value and leaf gradients of each expression; with ``twice``, backward runs twice
    on the same graph (leaf gradients accumulate, as torch's do)."""
    Value = impl.autograd.Value
    out = {}
    for label, (expression, point) in EXPRESSIONS.items():
        leaves = [Value(p) for p in point]
        result = expression(leaves, _ValueOps)
        result.backward()
        if twice:
            result.backward()
        out[label] = {"value": float(result.data), "leaf grads": [float(v.grad) for v in leaves]}
    return out


def _upstream(g, like):
    """A random upstream gradient: never all ones."""
    return _randn(g, *like.shape) + 0.5


def manual_backward(impl, *, seed, device, function):
    """Outputs and input gradients of one hand-written autograd Function, with a random
    upstream gradient, plus torch.autograd.gradcheck on smaller inputs."""
    g = _generator(seed)
    a = impl.autograd
    cases = _function_cases(a, g, function)
    out = {}
    for label, (fn, inputs) in cases.items():
        leaves = [t.clone().requires_grad_(t.is_floating_point()) for t in inputs]
        result = fn(*leaves)
        upstream = _upstream(g, result)
        kept = upstream.clone()
        result.backward(upstream)
        out[label] = {"output": result.detach(),
                      "input grads": [t.grad if t.requires_grad else None for t in leaves],
                      # the contract: backward never changes grad_output (torch hands the
                      # caller's tensor to it) nor what forward saved
                      "grad_output left unchanged": bool(torch.equal(upstream, kept)),
                      "inputs left unchanged": all(torch.equal(t.detach(), i)
                                                   for t, i in zip(leaves, inputs)),
                      # a kink (relu at exactly 0) has no derivative for gradcheck to match
                      "gradcheck": None if "exact zeros" in label else bool(
                          torch.autograd.gradcheck(
                              fn, [t.detach().clone().requires_grad_(t.is_floating_point())
                                   for t in inputs], raise_exception=False))}
    return out


def _away_from_zero(t, margin=0.1):
    return torch.where(t.abs() < margin, t.sign() * margin + t, t)


def _function_cases(a, g, function):
    if function == "linear":
        return {f"x [{n}, 3], W [4, 3], b [4]": (a.LinearFunction.apply,
                                                   [_randn(g, n, 3), _randn(g, 4, 3),
                                                    _randn(g, 4)]) for n in (5, 1)}
    if function == "relu":
        with_zeros = _randn(g, 6, 4)
        with_zeros[::2, 1::2] = 0.0     # ReLU's derivative at exactly 0 is 0, as in torch
        return {"[6, 4] away from 0": (a.ReLUFunction.apply, [_away_from_zero(_randn(g, 6, 4))]),
                "[6, 4] with exact zeros": (a.ReLUFunction.apply, [with_zeros])}
    if function == "sigmoid":
        return {"[6, 4]": (a.SigmoidFunction.apply, [_randn(g, 6, 4)]),
                "[3] large": (a.SigmoidFunction.apply, [5.0 * _randn(g, 3)])}
    if function == "mse":
        return {"[5, 2]": (a.MSELossFunction.apply, [_randn(g, 5, 2), _randn(g, 5, 2)])}
    if function == "cross_entropy":
        target = torch.randint(0, 4, (6,), generator=g)
        return {"logits [6, 4]": (a.SoftmaxCrossEntropyFunction.apply,
                                  [_randn(g, 6, 4), target]),
                "logits [6, 4] x1000": (a.SoftmaxCrossEntropyFunction.apply,
                                        [1000.0 * _randn(g, 6, 4), target])}
    raise ValueError(f"unknown function {function!r}")


def _describe(node):
    return type(node).__name__


def graph_walk(impl, *, seed, device):
    """The nodes ``graph_nodes`` lists: how many, which kinds, no repeats, and whether
    the order is topological (every node before the nodes it points to)."""
    g = _generator(seed)
    out = {}
    w = _randn(g, 3).requires_grad_()
    b = _randn(g, 1).requires_grad_()
    x = _randn(g, 4, 3)
    y = (x @ w + b).sigmoid()
    graphs = {"slides: z = x^2 + y^2": _slides_graph(),
              "logistic regression loss": ((y - 1.0) ** 2).mean(),
              "a reused intermediate": _reused_graph(g),
              "paths of different lengths to one node": _uneven_graph(g)}
    for label, output in graphs.items():
        nodes = impl.autograd.graph_nodes(output)
        position = {node: i for i, node in enumerate(nodes)}
        topological = all(position.get(child, -1) > position[node]
                          for node in nodes for child, _ in node.next_functions
                          if child is not None)
        out[label] = {"node kinds (sorted)": sorted(_describe(n) for n in nodes),
                      "no node listed twice": len(set(nodes)) == len(nodes),
                      "first node is output.grad_fn": bool(nodes) and nodes[0] is output.grad_fn,
                      "order is topological": topological}
    return out


def _slides_graph():
    x = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    y = torch.tensor(3.0, dtype=torch.float64, requires_grad=True)
    return x ** 2 + y ** 2


def _reused_graph(g):
    a = _randn(g, 2).requires_grad_()
    h = a.exp()
    return (h * h + h.sin()).sum()


def _uneven_graph(g):
    """exp(a) reached directly and through three more nodes: listing nodes breadth-first
    puts it before sin, which points to it, so only a real topological order passes."""
    a = _randn(g, 2).requires_grad_()
    p = a.exp()
    q = p.sin().cos().tanh()
    return (q * p + a).sum()


def descent_quadratic(impl, *, seed, device):
    """The slides' f(x) = x^2 from x = 10 with lr 0.1, 30 steps; x0 must be untouched."""
    x0 = torch.tensor(10.0, dtype=torch.float64)
    iterates, losses = impl.autograd.gradient_descent(lambda x: x ** 2, x0, 0.1, 30)
    return {"iterates": iterates, "losses": losses, "x0 after the call": x0}


def descent_least_squares(impl, *, seed, device):
    """Least squares ||A x - b||^2 / n from a random start, 40 steps, float64."""
    g = _generator(seed)
    a, b, x0 = _randn(g, 20, 3), _randn(g, 20), _randn(g, 3)
    before = x0.clone()
    iterates, losses = impl.autograd.gradient_descent(
        lambda x: ((a @ x - b) ** 2).mean(), x0, 0.05, 40)
    return {"iterates": iterates, "losses": losses,
            "x0 left unchanged": bool(torch.equal(x0, before))}
