"""An independently written, correct 02_autograd solution (not derived from the reference).

It deliberately uses other, equivalent formulations than the obvious ones: an iterative
(stack-based) topological sort in ``Value.backward``, ``einsum``/``needs_input_grad`` in the
Linear backward, ``masked_fill`` for ReLU, ``one_hot`` for cross-entropy, Kahn's algorithm
(in-degrees) for ``graph_nodes``, and ``add_(alpha=-lr)`` plus ``grad = None`` in gradient
descent. It must score full marks on every agreement check.
"""
import math

import torch


class Value:
    """A scalar that remembers how it was computed, so it can backpropagate.

    ``data`` is the number, ``grad`` is d(output)/d(this) after ``backward()``.
    """

    def __init__(self, data, children=(), op=""):
        self.data = float(data)
        self.grad = 0.0
        self._backward = lambda: None
        self._children = tuple(children)
        self.op = op

    def __repr__(self):
        return f"Value(data={self.data}, grad={self.grad})"

    def __add__(self, other):
        """self + other; d/dself = 1, d/dother = 1."""
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other), "+")

        def backward():
            upstream = out.grad
            self.grad += upstream
            other.grad += upstream

        out._backward = backward
        return out

    def __mul__(self, other):
        """self * other; d/dself = other, d/dother = self."""
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other), "*")

        def backward():
            upstream = out.grad
            self.grad += other.data * upstream
            other.grad += self.data * upstream

        out._backward = backward
        return out

    def __pow__(self, exponent):
        """self ** exponent for a constant int or float exponent; d/dself = n x^(n-1)."""
        out = Value(self.data ** exponent, (self,), f"**{exponent}")

        def backward():
            self.grad += exponent * self.data ** (exponent - 1) * out.grad

        out._backward = backward
        return out

    def relu(self):
        """max(0, self); the derivative is 1 where self > 0, else 0."""
        out = Value(max(0.0, self.data), (self,), "relu")

        def backward():
            if self.data > 0:
                self.grad += out.grad

        out._backward = backward
        return out

    def tanh(self):
        """tanh(self); the derivative is 1 - tanh(self)^2."""
        t = math.tanh(self.data)
        out = Value(t, (self,), "tanh")

        def backward():
            self.grad += (1.0 - t * t) * out.grad

        out._backward = backward
        return out

    def exp(self):
        """e ** self; the derivative is e ** self itself."""
        out = Value(math.exp(self.data), (self,), "exp")

        def backward():
            self.grad += out.data * out.grad

        out._backward = backward
        return out

    def backward(self):
        """Backpropagate from this value: afterwards every leaf's ``grad`` holds
        d(self)/d(leaf), added to what it held before (as torch accumulates).

        Visit nodes in reverse topological order, so a node passes its gradient on
        only once every node that uses it has contributed. Gradients of inner
        (non-leaf) nodes are recomputed from zero on every call.
        """
        # Iterative depth-first post-order (no recursion limit for deep graphs):
        # a node is appended once all of its children have been appended.
        order = []
        seen = {id(self)}
        stack = [(self, iter(self._children))]
        while stack:
            node, children = stack[-1]
            for child in children:
                if id(child) not in seen:
                    seen.add(id(child))
                    stack.append((child, iter(child._children)))
                    break
            else:
                stack.pop()
                order.append(node)
        for node in order:
            if node._children:          # an inner node: nothing kept from a previous call
                node.grad = 0.0
        self.grad = 1.0
        for node in reversed(order):
            node._backward()

    # Derived operations, built from the ones above.
    def __neg__(self):
        return self * -1

    def __radd__(self, other):
        return self + other

    def __sub__(self, other):
        return self + (-other)

    def __rsub__(self, other):
        return other + (-self)

    def __rmul__(self, other):
        return self * other

    def __truediv__(self, other):
        return self * other ** -1

    def __rtruediv__(self, other):
        return other * self ** -1


class LinearFunction(torch.autograd.Function):
    """y = x W^T + b, with x [N, in], W [out, in], b [out] -> y [N, out]."""

    @staticmethod
    def forward(ctx, x, weight, bias):
        ctx.save_for_backward(x, weight)
        return x @ weight.T + bias

    @staticmethod
    def backward(ctx, grad_output):
        """grad_output [N, out] -> (grad_x [N, in], grad_W [out, in], grad_b [out])."""
        x, weight = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad
        grad_x = torch.einsum("no,oi->ni", grad_output, weight) if need_x else None
        grad_w = torch.einsum("no,ni->oi", grad_output, x) if need_w else None
        # the bias is broadcast over the N rows: its gradient sums their N shares
        grad_b = grad_output.sum(dim=0) if need_b else None
        return grad_x, grad_w, grad_b


class ReLUFunction(torch.autograd.Function):
    """y = max(x, 0) elementwise."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output.masked_fill(x <= 0, 0.0)


class SigmoidFunction(torch.autograd.Function):
    """y = 1 / (1 + exp(-x)) elementwise; dy/dx = y (1 - y)."""

    @staticmethod
    def forward(ctx, x):
        y = torch.sigmoid(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_output):
        (y,) = ctx.saved_tensors
        local = y * (1.0 - y)
        return local * grad_output


class MSELossFunction(torch.autograd.Function):
    """L = mean((pred - target)^2) over all elements; a 0-dim tensor."""

    @staticmethod
    def forward(ctx, pred, target):
        diff = pred - target
        ctx.save_for_backward(diff)
        return (diff * diff).mean()

    @staticmethod
    def backward(ctx, grad_output):
        """Returns (dL/dpred, dL/dtarget), each scaled by the scalar grad_output."""
        (diff,) = ctx.saved_tensors
        scale = grad_output * (2.0 / diff.numel())
        grad_pred = diff * scale
        need_pred, need_target = ctx.needs_input_grad
        return (grad_pred if need_pred else None), (-grad_pred if need_target else None)


class SoftmaxCrossEntropyFunction(torch.autograd.Function):
    """L = mean_i( -log softmax(logits_i)[target_i] ), logits [N, C], target [N] int64."""

    @staticmethod
    def forward(ctx, logits, target):
        shifted = logits - logits.amax(dim=1, keepdim=True)
        log_probs = shifted - shifted.exp().sum(dim=1, keepdim=True).log()
        ctx.save_for_backward(log_probs, target)
        return -log_probs.gather(1, target.unsqueeze(1)).mean()

    @staticmethod
    def backward(ctx, grad_output):
        """Returns (dL/dlogits, None): (softmax - onehot) / N, scaled by grad_output."""
        log_probs, target = ctx.saved_tensors
        n, classes = log_probs.shape
        onehot = torch.nn.functional.one_hot(target, num_classes=classes).to(log_probs.dtype)
        grad = (log_probs.exp() - onehot) * (grad_output / n)
        return grad, None


def graph_nodes(output):
    """The nodes of ``output``'s graph (``grad_fn`` objects, leaves included as their
    ``AccumulateGrad`` nodes), each once, in topological order: every node appears
    before the nodes in its ``next_functions``."""
    root = output.grad_fn
    if root is None:
        return []

    def children(node):
        return [child for child, _ in node.next_functions if child is not None]

    # Pass 1: every reachable node, and how many edges point at it (in-degree).
    indegree = {root: 0}
    pending = [root]
    while pending:
        node = pending.pop()
        for child in children(node):
            if child not in indegree:
                indegree[child] = 0
                pending.append(child)
            indegree[child] += 1
    # Pass 2 (Kahn): emit a node once every node pointing at it has been emitted.
    ready = [root]
    ordered = []
    while ready:
        node = ready.pop(0)
        ordered.append(node)
        for child in children(node):
            indegree[child] -= 1
            if indegree[child] == 0:
                ready.append(child)
    return ordered


def gradient_descent(f, x0, lr, steps):
    """Minimise ``f`` from ``x0`` with autograd: x <- x - lr * df/dx, ``steps`` times.

    Make a leaf ``x`` from ``x0`` (x0 itself is not modified), and update that leaf in
    place under ``torch.no_grad()``, zeroing its gradient after each step.

    Returns:
        ``(iterates, losses)``: iterates ``[steps + 1, *x0.shape]`` (x_0 .. x_steps) and
        losses ``[steps]`` (f before each update), both detached, in x0's dtype.
    """
    x = x0.detach().clone().requires_grad_(True)
    iterates = torch.empty((steps + 1,) + tuple(x0.shape), dtype=x0.dtype, device=x0.device)
    losses = torch.empty(steps, dtype=x0.dtype, device=x0.device)
    iterates[0] = x.detach()
    for k in range(steps):
        loss = f(x)
        losses[k] = loss.detach()
        loss.backward()
        with torch.no_grad():
            x.add_(x.grad, alpha=-lr)
        x.grad = None               # cleared: the next backward starts from nothing
        iterates[k + 1] = x.detach()
    return iterates, losses
