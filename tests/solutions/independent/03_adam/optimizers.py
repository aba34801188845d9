"""A correct 03_adam solution written independently of the reference, the way a student
might: per-parameter loops, Python-int step counters, new tensors instead of in-place
updates. It must score full marks on every agreement check (tests/test_selfcheck.py)."""
import torch
from torch.optim import Optimizer


def gradient_descent(grad_fn, x0, lr, steps):
    xs = [x0.clone()]
    for _ in range(steps):
        xs.append(xs[-1] - lr * grad_fn(xs[-1]))
    return torch.stack(xs)


def sgd_step_(param, lr):
    with torch.no_grad():
        param -= lr * param.grad
    param.grad = None


def minimize(loss_fn, w, lr, steps):
    out = torch.empty(steps, dtype=w.dtype)
    for i in range(steps):
        loss = loss_fn(w)
        out[i] = loss.item()
        loss.backward()
        sgd_step_(w, lr)
    return out


class SGD(Optimizer):
    def __init__(self, params, lr, momentum=0, dampening=0, weight_decay=0, nesterov=False):
        if lr < 0 or momentum < 0 or weight_decay < 0:
            raise ValueError("bad")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("bad nesterov")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov))

    @torch.no_grad()
    def step(self, closure=None):
        loss = _run(closure)
        for g in self.param_groups:
            for p in g["params"]:
                if p.grad is None:
                    continue
                d = p.grad
                if g["weight_decay"]:
                    d = d + g["weight_decay"] * p
                if g["momentum"]:
                    st = self.state[p]
                    if "momentum_buffer" not in st:
                        st["momentum_buffer"] = d.clone()
                    else:
                        st["momentum_buffer"] = g["momentum"] * st["momentum_buffer"] + (1 - g["dampening"]) * d
                    d = d + g["momentum"] * st["momentum_buffer"] if g["nesterov"] else st["momentum_buffer"]
                p -= g["lr"] * d
        return loss


def _run(closure):
    if closure is None:
        return None
    with torch.enable_grad():
        return closure()


class Adam(Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False):
        if lr < 0 or eps < 0 or weight_decay < 0 or not (0 <= betas[0] < 1 and 0 <= betas[1] < 1):
            raise ValueError("bad")
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad))

    def _decayed_gradients(self, params, grads, lr, weight_decay):
        return [g + weight_decay * p for p, g in zip(params, grads)]

    @torch.no_grad()
    def step(self, closure=None):
        loss = _run(closure)
        for g in self.param_groups:
            b1, b2 = g["betas"]
            ps = [p for p in g["params"] if p.grad is not None]
            grads = [p.grad for p in ps]
            if g["weight_decay"]:
                grads = self._decayed_gradients(ps, grads, g["lr"], g["weight_decay"])
            for p, grad in zip(ps, grads):
                st = self.state[p]
                if not st:
                    st["step"] = 0
                    st["exp_avg"] = torch.zeros_like(p)
                    st["exp_avg_sq"] = torch.zeros_like(p)
                    if g["amsgrad"]:
                        st["max_exp_avg_sq"] = torch.zeros_like(p)
                st["step"] += 1
                t = st["step"]
                st["exp_avg"].mul_(b1).add_(grad, alpha=1 - b1)
                st["exp_avg_sq"].mul_(b2).addcmul_(grad, grad, value=1 - b2)
                v = st["exp_avg_sq"]
                if g["amsgrad"]:
                    torch.maximum(st["max_exp_avg_sq"], v, out=st["max_exp_avg_sq"])
                    v = st["max_exp_avg_sq"]
                mhat = st["exp_avg"] / (1 - b1 ** t)
                vhat = v / (1 - b2 ** t)
                p -= g["lr"] * mhat / (vhat.sqrt() + g["eps"])
        return loss


class AdamW(Adam):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)

    def _decayed_gradients(self, params, grads, lr, weight_decay):
        for p in params:
            p.mul_(1 - lr * weight_decay)
        return grads
