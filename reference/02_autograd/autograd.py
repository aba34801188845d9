"""Assignment 02_autograd: automatic differentiation, by hand and with torch.

Tasks (see assignments/02_autograd/README.md for the maths):

1. ``Value``            a scalar autograd engine: +, *, **, relu, tanh, exp, backward
2. ``LinearFunction``   y = x W^T + b with a hand-written backward
3. ``ReLUFunction`` / ``SigmoidFunction``
4. ``MSELossFunction`` / ``SoftmaxCrossEntropyFunction``
5. ``graph_nodes``      the computational graph behind a tensor, in topological order
6. ``gradient_descent`` x <- x - lr * df/dx with autograd, updating the leaf in place

Rules: the backward methods of tasks 2-4 may not call ``.backward()`` or
``torch.autograd.grad``; they compute the gradients themselves.
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
            # TODO task 1: each input receives out.grad (accumulate: a node may be reused).
            ### BEGIN SOLUTION
            self.grad += out.grad
            other.grad += out.grad
            ### END SOLUTION

        out._backward = backward
        return out

    def __mul__(self, other):
        """self * other; d/dself = other, d/dother = self."""
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other), "*")

        def backward():
            # TODO task 1: the product rule, accumulated.
            ### BEGIN SOLUTION
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
            ### END SOLUTION

        out._backward = backward
        return out

    def __pow__(self, exponent):
        """self ** exponent for a constant int or float exponent; d/dself = n x^(n-1)."""
        out = Value(self.data ** exponent, (self,), f"**{exponent}")

        def backward():
            # TODO task 1: the power rule, accumulated.
            ### BEGIN SOLUTION
            self.grad += exponent * self.data ** (exponent - 1) * out.grad
            ### END SOLUTION

        out._backward = backward
        return out

    def relu(self):
        """max(0, self); the derivative is 1 where self > 0, else 0."""
        out = Value(max(0.0, self.data), (self,), "relu")

        def backward():
            # TODO task 1: pass the gradient through only where the input was positive.
            ### BEGIN SOLUTION
            self.grad += (1.0 if self.data > 0 else 0.0) * out.grad
            ### END SOLUTION

        out._backward = backward
        return out

    def tanh(self):
        """tanh(self); the derivative is 1 - tanh(self)^2."""
        t = math.tanh(self.data)
        out = Value(t, (self,), "tanh")

        def backward():
            # TODO task 1: use the output t, already computed.
            ### BEGIN SOLUTION
            self.grad += (1.0 - t * t) * out.grad
            ### END SOLUTION

        out._backward = backward
        return out

    def exp(self):
        """e ** self; the derivative is e ** self itself."""
        out = Value(math.exp(self.data), (self,), "exp")

        def backward():
            # TODO task 1: the derivative of exp is exp.
            ### BEGIN SOLUTION
            self.grad += out.data * out.grad
            ### END SOLUTION

        out._backward = backward
        return out

    def backward(self):
        """Backpropagate from this value: afterwards every leaf's ``grad`` holds
        d(self)/d(leaf), added to what it held before (as torch accumulates).

        Visit nodes in reverse topological order, so a node passes its gradient on
        only once every node that uses it has contributed. Gradients of inner
        (non-leaf) nodes are recomputed from zero on every call.
        """
        # TODO task 1: topological sort (children before parents), then propagate.
        ### BEGIN SOLUTION
        order, seen = [], set()

        def visit(node):
            if id(node) not in seen:
                seen.add(id(node))
                for child in node._children:
                    visit(child)
                order.append(node)

        visit(self)
        for node in order:
            if node._children:
                node.grad = 0.0
        self.grad = 1.0
        for node in reversed(order):
            node._backward()
        ### END SOLUTION

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
        # TODO task 2: dL/dx = g W, dL/dW = g^T x, dL/db = g summed over the batch.
        ### BEGIN SOLUTION
        grad_x = grad_output @ weight
        grad_weight = grad_output.T @ x
        grad_bias = grad_output.sum(dim=0)
        return grad_x, grad_weight, grad_bias
        ### END SOLUTION


class ReLUFunction(torch.autograd.Function):
    """y = max(x, 0) elementwise."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        # TODO task 3: the gradient flows only where x > 0.
        ### BEGIN SOLUTION
        return grad_output * (x > 0).to(grad_output.dtype)
        ### END SOLUTION


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
        # TODO task 3: use the saved output y.
        ### BEGIN SOLUTION
        return grad_output * y * (1 - y)
        ### END SOLUTION


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
        # TODO task 4: dL/dpred = 2 (pred - target) / numel; dL/dtarget is its negative.
        ### BEGIN SOLUTION
        grad = 2.0 * diff / diff.numel() * grad_output
        return grad, -grad
        ### END SOLUTION


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
        # TODO task 4: softmax minus the one-hot target, averaged over the batch.
        ### BEGIN SOLUTION
        grad = log_probs.exp()
        grad[torch.arange(target.shape[0], device=target.device), target] -= 1.0
        return grad / target.shape[0] * grad_output, None
        ### END SOLUTION


def graph_nodes(output):
    """The nodes of ``output``'s graph (``grad_fn`` objects, leaves included as their
    ``AccumulateGrad`` nodes), each once, in topological order: every node appears
    before the nodes in its ``next_functions``."""
    # TODO task 5: depth-first search over next_functions; reverse the post-order.
    ### BEGIN SOLUTION
    order, seen = [], set()

    def visit(node):
        if node is None or node in seen:
            return
        seen.add(node)
        for child, _ in node.next_functions:
            visit(child)
        order.append(node)

    visit(output.grad_fn)
    return order[::-1]
    ### END SOLUTION


def gradient_descent(f, x0, lr, steps):
    """Minimise ``f`` from ``x0`` with autograd: x <- x - lr * df/dx, ``steps`` times.

    Make a leaf ``x`` from ``x0`` (x0 itself is not modified), and update that leaf in
    place under ``torch.no_grad()``, zeroing its gradient after each step.

    Returns:
        ``(iterates, losses)``: iterates ``[steps + 1, *x0.shape]`` (x_0 .. x_steps) and
        losses ``[steps]`` (f before each update), both detached, in x0's dtype.
    """
    # TODO task 6: one leaf for the whole loop; never rebind x to a new tensor.
    ### BEGIN SOLUTION
    x = x0.detach().clone().requires_grad_(True)
    iterates, losses = [x.detach().clone()], []
    for _ in range(steps):
        loss = f(x)
        loss.backward()
        with torch.no_grad():
            x.sub_(lr * x.grad)
        x.grad.zero_()
        iterates.append(x.detach().clone())
        losses.append(loss.detach())
    return torch.stack(iterates), torch.stack(losses)
    ### END SOLUTION
