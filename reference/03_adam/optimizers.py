"""Assignment 03_adam: gradient descent, SGD, Adam and AdamW, written by hand.

Tasks (see assignments/03_adam/README.md for the maths):

1. ``gradient_descent``  x_{k+1} = x_k - lr * grad_fn(x_k)
2. ``sgd_step_``         one update on a leaf tensor, in place, under no_grad
3. ``minimize``          a loop of autograd + ``sgd_step_``
4. ``SGD``               momentum, dampening, Nesterov, weight decay
5. ``Adam``              first/second moments, bias correction, AMSGrad
6. ``AdamW``             Adam with decoupled weight decay

Rules: do not call ``torch.optim.SGD``/``Adam``/``AdamW`` or torch's functional
optimizer kernels; the grader detects it. Subclassing ``torch.optim.Optimizer``
is expected, and ``torch._foreach_*`` ops are allowed (and fast).
"""
import math

import torch
from torch.optim import Optimizer


def gradient_descent(grad_fn, x0, lr, steps):
    """Plain gradient descent on a function whose gradient is ``grad_fn``.

    Args:
        grad_fn: callable mapping a tensor x to the gradient of f at x (same shape).
        x0: starting point, a tensor of any shape. Must not be modified.
        lr: the learning rate (step size) eta.
        steps: number of updates.

    Returns:
        A tensor of shape ``(steps + 1, *x0.shape)`` with the iterates
        x_0, x_1, ..., x_steps, in the dtype of ``x0``.
    """
    # TODO task 1: x_{k+1} = x_k - lr * grad_fn(x_k); keep every iterate.
    ### BEGIN SOLUTION
    x = x0.detach().clone()
    iterates = [x]
    for _ in range(steps):
        x = x - lr * grad_fn(x)
        iterates.append(x)
    return torch.stack(iterates)
    ### END SOLUTION


def sgd_step_(param, lr):
    """One hand-written gradient-descent step on a leaf tensor.

    ``param`` is a leaf with ``requires_grad=True`` whose ``.grad`` holds the
    gradient. Update it in place (param <- param - lr * grad) without
    recording the update in the autograd graph, then zero the gradient so the
    next ``backward()`` does not add to it. Returns None.
    """
    # TODO task 2: update under torch.no_grad(), in place, then zero param.grad.
    ### BEGIN SOLUTION
    with torch.no_grad():
        param.sub_(lr * param.grad)
    param.grad.zero_()
    ### END SOLUTION


def minimize(loss_fn, w, lr, steps):
    """Minimise ``loss_fn(w)`` by gradient descent with autograd.

    Each step: compute the loss, call ``backward()``, then ``sgd_step_``.
    ``w`` is a leaf tensor with ``requires_grad=True``; it is updated in place
    and must still be the same leaf tensor afterwards.

    Returns:
        A float tensor of shape ``(steps,)``: the loss *before* each update,
        detached from the graph.
    """
    # TODO task 3: loss -> backward -> sgd_step_, `steps` times; record losses.
    ### BEGIN SOLUTION
    losses = []
    for _ in range(steps):
        loss = loss_fn(w)
        loss.backward()
        sgd_step_(w, lr)
        losses.append(loss.detach())
    return torch.stack(losses)
    ### END SOLUTION


def _group_by_device_and_dtype(tensor_lists):
    """Split parallel lists of tensors into buckets keyed by (device, dtype).

    ``torch._foreach_*`` ops need every tensor of one call on one device with
    one dtype; the first list decides the bucket of each position.
    """
    buckets = {}
    for position, tensor in enumerate(tensor_lists[0]):
        key = (tensor.device, tensor.dtype)
        bucket = buckets.setdefault(key, [[] for _ in tensor_lists])
        for out, source in zip(bucket, tensor_lists):
            out.append(source[position])
    return buckets.values()


class SGD(Optimizer):
    """Stochastic gradient descent with momentum, dampening, Nesterov and L2 decay.

    For each parameter p with gradient g (parameters whose grad is None are
    skipped entirely):

        g <- g + weight_decay * p
        b <- g                                  on the first step
        b <- momentum * b + (1 - dampening) * g afterwards
        g <- g + momentum * b   (nesterov)   or   g <- b   (plain momentum)
        p <- p - lr * g

    State per parameter: ``momentum_buffer`` (only when momentum != 0).
    """

    def __init__(self, params, lr, momentum=0, dampening=0, weight_decay=0, nesterov=False):
        # TODO task 4: validate like torch (ValueError), then call Optimizer.__init__.
        ### BEGIN SOLUTION
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov)
        super().__init__(params, defaults)
        ### END SOLUTION

    @torch.no_grad()
    def step(self, closure=None):
        """Perform one update of every parameter that has a gradient."""
        # TODO task 4: the SGD update above, per param group.
        ### BEGIN SOLUTION
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if params:
                self._update_group(group, params)
        return loss

    def _update_group(self, group, params):
        momentum, dampening = group["momentum"], group["dampening"]
        grads = [p.grad for p in params]
        if group["weight_decay"] != 0:
            grads = torch._foreach_add(grads, params, alpha=group["weight_decay"])
        if momentum != 0:
            grads = self._momentum_directions(params, grads, momentum, dampening,
                                              group["nesterov"])
        for bucket_params, bucket_grads in _group_by_device_and_dtype([params, grads]):
            torch._foreach_add_(bucket_params, bucket_grads, alpha=-group["lr"])

    def _momentum_directions(self, params, grads, momentum, dampening, nesterov):
        buffers = []
        for p, g in zip(params, grads):
            state = self.state[p]
            if "momentum_buffer" not in state:
                state["momentum_buffer"] = torch.clone(g).detach()
            else:
                state["momentum_buffer"].mul_(momentum).add_(g, alpha=1 - dampening)
            buffers.append(state["momentum_buffer"])
        if nesterov:
            return torch._foreach_add(grads, buffers, alpha=momentum)
        return buffers
        ### END SOLUTION


class Adam(Optimizer):
    """Adam (Kingma & Ba), with optional L2 weight decay and AMSGrad.

    For each parameter p with gradient g, with t its own step count:

        g <- g + weight_decay * p                      (coupled L2 decay)
        m <- beta1 * m + (1 - beta1) * g
        v <- beta2 * v + (1 - beta2) * g^2
        v_max <- max(v_max, v)                         (amsgrad only; use v_max for v)
        p <- p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

    State per parameter: ``step``, ``exp_avg`` (m), ``exp_avg_sq`` (v) and,
    with amsgrad, ``max_exp_avg_sq``. Parameters whose grad is None are skipped
    and their step count does not advance.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False):
        # TODO task 5: validate like torch (ValueError), then call Optimizer.__init__.
        ### BEGIN SOLUTION
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if eps < 0.0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        for index, beta in enumerate(betas):
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"Invalid beta parameter at index {index}: {beta}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad)
        super().__init__(params, defaults)
        ### END SOLUTION

    @torch.no_grad()
    def step(self, closure=None):
        """Perform one Adam update of every parameter that has a gradient."""
        # TODO task 5: the update above; task 6 reuses it with decoupled decay.
        ### BEGIN SOLUTION
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            for bucket in _group_by_device_and_dtype([params]):
                self._update_bucket(group, bucket[0])
        return loss

    def _state_lists(self, params, amsgrad):
        for p in params:
            state = self.state[p]
            if len(state) == 0:
                state["step"] = torch.tensor(0.0)
                state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                if amsgrad:
                    state["max_exp_avg_sq"] = torch.zeros_like(
                        p, memory_format=torch.preserve_format)
        names = ["step", "exp_avg", "exp_avg_sq"] + (["max_exp_avg_sq"] if amsgrad else [])
        return [[self.state[p][name] for p in params] for name in names]

    def _update_bucket(self, group, params):
        beta1, beta2 = group["betas"]
        lr, eps, weight_decay = group["lr"], group["eps"], group["weight_decay"]
        steps, exp_avgs, exp_avg_sqs, *maxima = self._state_lists(params, group["amsgrad"])
        grads = [p.grad for p in params]
        torch._foreach_add_(steps, 1)
        if weight_decay != 0:
            grads = self._decayed_gradients(params, grads, lr, weight_decay)
        torch._foreach_lerp_(exp_avgs, grads, 1 - beta1)
        torch._foreach_mul_(exp_avg_sqs, beta2)
        torch._foreach_addcmul_(exp_avg_sqs, grads, grads, value=1 - beta2)
        if maxima:
            torch._foreach_maximum_(maxima[0], exp_avg_sqs)
        second_moments = maxima[0] if maxima else exp_avg_sqs
        counts = [step.item() for step in steps]
        step_sizes = [-lr / (1 - beta1 ** t) for t in counts]
        denominators = torch._foreach_sqrt(second_moments)
        torch._foreach_div_(denominators, [math.sqrt(1 - beta2 ** t) for t in counts])
        torch._foreach_add_(denominators, eps)
        torch._foreach_addcdiv_(params, exp_avgs, denominators, step_sizes)
        ### END SOLUTION

    def _decayed_gradients(self, params, grads, lr, weight_decay):
        """Coupled L2 decay: return the new list g + weight_decay * p.

        Called by the update only when weight_decay != 0. ``params`` and
        ``grads`` are lists of tensors; neither may be modified here.
        """
        # TODO task 5: Adam adds the decay to the gradient.
        ### BEGIN SOLUTION
        return torch._foreach_add(grads, params, alpha=weight_decay)
        ### END SOLUTION


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter).

    Identical to ``Adam`` except for the decay: instead of adding
    ``weight_decay * p`` to the gradient, the parameter itself shrinks before
    the moment update, ``p <- p * (1 - lr * weight_decay)``, so the decay is
    not rescaled by the adaptive denominator.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad)

    def _decayed_gradients(self, params, grads, lr, weight_decay):
        """Decoupled decay: shrink the parameters in place, p <- p * (1 - lr * weight_decay).

        Returns ``grads`` unchanged: the decay never enters the moments.
        """
        # TODO task 6: decay the parameters, not the gradients.
        ### BEGIN SOLUTION
        torch._foreach_mul_(params, 1 - lr * weight_decay)
        return grads
        ### END SOLUTION
