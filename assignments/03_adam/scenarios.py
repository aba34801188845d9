"""Trusted scenarios of 03_adam. Each takes an implementation and returns plain data.

``impl.optimizers`` is the solution's module (the student's, the reference, or a
known-mistake variant); every scenario builds its inputs from ``seed`` alone,
so the reference and the student see exactly the same numbers.
"""
import torch

STEPS = 8
# The parameters, by the names the feedback uses. Group 1 holds WEIGHT, SMALL and
# SOMETIMES_NONE (its grad is None at step NONE_AT_STEP + 1); group 2 holds FROZEN and SECOND.
WEIGHT = "weight (group 1)"
SMALL = "small-gradient bias (group 1)"
FROZEN = "frozen weight (group 2)"
SOMETIMES_NONE = "bias without a gradient at step 4 (group 1)"
SECOND = "weight (group 2)"
NONE_AT_STEP = 3   # an index: the 4th step

# Hyperparameters per param group, by configuration name.
CONFIGS = {
    "sgd_momentum": [dict(lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01),
                     dict(lr=0.05, momentum=0.5, weight_decay=1.0)],
    "sgd_nesterov": [dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.02),
                     dict(lr=0.2)],
    "adam": [dict(lr=0.05, betas=(0.9, 0.99), weight_decay=0.05),
             dict(lr=0.02, betas=(0.8, 0.9), eps=1e-3, weight_decay=1.0)],
    "adam_amsgrad": [dict(lr=0.05, amsgrad=True, weight_decay=0.0),
                     dict(lr=0.03, betas=(0.5, 0.9), amsgrad=True, eps=1e-4)],
    "adamw": [dict(lr=0.05, weight_decay=0.1),
              dict(lr=0.02, betas=(0.8, 0.95), weight_decay=0.5, amsgrad=True)],
}

BAD_ARGUMENTS = {
    "SGD": {"lr=-0.1": dict(lr=-0.1), "momentum=-0.5": dict(lr=0.1, momentum=-0.5),
            "weight_decay=-1": dict(lr=0.1, weight_decay=-1.0),
            "nesterov without momentum": dict(lr=0.1, nesterov=True),
            "nesterov with dampening": dict(lr=0.1, momentum=0.9, dampening=0.1, nesterov=True)},
    "Adam": {"lr=-0.001": dict(lr=-1e-3), "eps=-1e-8": dict(eps=-1e-8),
             "betas=(1.0, 0.999)": dict(betas=(1.0, 0.999)),
             "betas=(0.9, -0.1)": dict(betas=(0.9, -0.1)),
             "weight_decay=-0.1": dict(weight_decay=-0.1)},
}
BAD_ARGUMENTS["AdamW"] = BAD_ARGUMENTS["Adam"]
# Values on the boundary of what is allowed: torch accepts each of them, and so must a
# solution (only negative values, betas outside [0, 1) and Nesterov without momentum or
# with dampening are rejected).
BOUNDARY_ARGUMENTS = {
    "SGD": {"lr=0": dict(lr=0.0),
            "nesterov with momentum=0.9, dampening=0": dict(lr=0.1, momentum=0.9, nesterov=True)},
    "Adam": {"lr=0": dict(lr=0.0), "eps=0": dict(eps=0.0),
             "betas=(0.0, 0.999)": dict(betas=(0.0, 0.999)),
             "betas=(0.9, 0.0)": dict(betas=(0.9, 0.0))},
}
BOUNDARY_ARGUMENTS["AdamW"] = BOUNDARY_ARGUMENTS["Adam"]
HYPERPARAMETERS = {"SGD": ("lr", "momentum", "dampening", "weight_decay", "nesterov"),
                   "Adam": ("lr", "betas", "eps", "weight_decay", "amsgrad")}
HYPERPARAMETERS["AdamW"] = HYPERPARAMETERS["Adam"]
STATE_NAMES = ("step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq", "momentum_buffer")


def warm_up():
    """Called once when a worker loads this assignment: the first Optimizer built imports
    torch._dynamo (about 2 s), which is better paid while the other worker is busy too."""
    torch.optim.Optimizer([torch.zeros(1, requires_grad=True)], {"lr": 0.1})


def _generator(seed):
    return torch.Generator().manual_seed(1000 + seed)


def _dtype(name):
    return {"float32": torch.float32, "float64": torch.float64}[name]


def gradient_descent_quadratic(impl, *, seed, device, dtype="float32"):
    """The slides' example: f(x) = x^2 from x = 10 with lr 0.1, for 25 steps."""
    x0 = torch.tensor(10.0, dtype=_dtype(dtype), device=device)
    iterates = impl.optimizers.gradient_descent(lambda x: 2 * x, x0, 0.1, 25)
    return {"iterates": iterates, "x0 after the call": x0}


def gradient_descent_least_squares(impl, *, seed, device, dtype="float64"):
    """Least squares, f(x) = ||A x - b||^2 / n, from a random start, 30 steps."""
    g = _generator(seed)
    a = torch.randn(12, 4, generator=g, dtype=_dtype(dtype)).to(device)
    b = torch.randn(12, generator=g, dtype=_dtype(dtype)).to(device)
    x0 = torch.randn(4, generator=g, dtype=_dtype(dtype)).to(device)
    before = x0.clone()

    def gradient(x):
        return 2.0 * a.T @ (a @ x - b) / a.shape[0]

    iterates = impl.optimizers.gradient_descent(gradient, x0, 0.05, 30)
    return {"iterates": iterates, "x0 after the call": x0, "x0 before the call": before}


def manual_step(impl, *, seed, device, dtype="float32"):
    """One hand-written step on a leaf: value, still a leaf, updated in place, grad zeroed."""
    g = _generator(seed)
    w = torch.randn(3, 4, generator=g, dtype=_dtype(dtype)).to(device).requires_grad_()
    w.grad = torch.randn(3, 4, generator=g, dtype=_dtype(dtype)).to(device)
    storage = w.data_ptr()
    impl.optimizers.sgd_step_(w, 0.25)
    return {"value": w.detach(), "is still a leaf": w.is_leaf,
            "still requires grad": w.requires_grad, "updated in place": w.data_ptr() == storage,
            "grad zeroed afterwards": w.grad is None or bool((w.grad == 0).all())}


def minimize_least_squares(impl, *, seed, device, dtype="float32"):
    """``minimize`` on a least-squares loss: losses, and the caller's own tensor afterwards."""
    g = _generator(seed)
    a = torch.randn(16, 3, generator=g, dtype=_dtype(dtype)).to(device)
    b = torch.randn(16, generator=g, dtype=_dtype(dtype)).to(device)
    w = torch.zeros(3, dtype=_dtype(dtype), device=device, requires_grad=True)
    storage = w.data_ptr()
    losses = impl.optimizers.minimize(lambda v: ((a @ v - b) ** 2).mean(), w, 0.1, 15)
    return {"losses": losses,
            "losses detached from the graph": not (isinstance(losses, torch.Tensor)
                                                   and losses.requires_grad),
            "the caller's w afterwards": w.detach(),
            "w is still a leaf": w.is_leaf, "w updated in place": w.data_ptr() == storage,
            "w.grad zeroed afterwards": w.grad is None or bool((w.grad == 0).all())}


def _parameters(g, dtype, device):
    shapes = {WEIGHT: (3, 4), SMALL: (5,), FROZEN: (2, 2, 2), SOMETIMES_NONE: (6,),
              SECOND: (2, 3)}
    params = {name: torch.randn(shape, generator=g, dtype=dtype).to(device)
              for name, shape in shapes.items()}
    targets = {name: torch.randn(p.shape, generator=g, dtype=dtype).to(device)
               for name, p in params.items()}
    # SMALL starts next to its target with a tiny weight: its gradients are ~1e-4, so
    # where eps sits in the denominator is visible.
    params[SMALL] = targets[SMALL] + 1e-2 * torch.randn(5, generator=g, dtype=dtype).to(device)
    for name, p in params.items():
        p.requires_grad_(name != FROZEN)
    return params, targets


def _loss(params, targets, noise, step):
    weights = {WEIGHT: 1.0, SMALL: 5e-3, FROZEN: 1.0, SOMETIMES_NONE: 0.7, SECOND: 2.0}
    total = 0.0
    for name, p in params.items():
        if name == FROZEN or (name == SOMETIMES_NONE and step == NONE_AT_STEP):
            continue
        total = total + weights[name] * ((p - targets[name]) ** 2).sum() + (p * noise[name]).sum()
    return total


def _snapshot(optimizer, params):
    state = {}
    for name, p in params.items():
        entries = optimizer.state[p] if p in optimizer.state else {}
        state[name] = {key: _state_value(key, entries[key]) for key in STATE_NAMES
                       if key in entries}
    # clone: optimizers update in place, and a view would show only the final values
    return {"params": {name: p.detach().clone() for name, p in params.items()}, "state": state}


def _state_value(key, value):
    # `step` may be an int, a float or a 0-dim tensor: all are fine, so compare its number.
    if key == "step" and isinstance(value, (int, float, torch.Tensor)) and not (
            isinstance(value, torch.Tensor) and value.numel() != 1):
        return float(value)
    # Anything else goes back as it is, so the comparison can say what it is.
    return value.detach().clone() if isinstance(value, torch.Tensor) else value


def optimizer_trajectory(impl, *, seed, device, optimizer, config, dtype="float64", steps=STEPS):
    """Every parameter and state entry after each of ``steps`` steps.

    Two param groups with different hyperparameters; FROZEN is frozen
    (requires_grad=False, so its grad is always None) and SOMETIMES_NONE's grad is None at
    step 4 (index 3), after it already has state.
    """
    g = _generator(seed)
    params, targets = _parameters(g, _dtype(dtype), device)
    groups = CONFIGS[config]
    cls = getattr(impl.optimizers, optimizer)
    opt = cls([dict(groups[0], params=[params[WEIGHT], params[SMALL],
                                       params[SOMETIMES_NONE]]),
               dict(groups[1], params=[params[FROZEN], params[SECOND]])], **_required(optimizer))
    snapshots = []
    for step in range(steps):
        # SMALL's noise is as small as its gradient (~1e-4), so eps's place shows in every
        # configuration (sqrt(v_hat) + eps against sqrt(v_hat + eps))
        noise = {n: (1e-4 if n == SMALL else 0.1)
                 * torch.randn(p.shape, generator=g, dtype=p.dtype).to(device)
                 for n, p in params.items()}
        opt.zero_grad()
        _loss(params, targets, noise, step).backward()
        opt.step()
        snapshots.append(_snapshot(opt, params))
    return snapshots


def _required(optimizer):
    # SGD's lr has no default in this assignment's signature; each group sets its own.
    return {"lr": 0.01} if optimizer == "SGD" else {}


def state_dict_resume(impl, *, seed, device, optimizer, config, dtype="float64"):
    """Four steps, save the optimizer's state_dict, load it into a fresh optimizer on copies
    of the parameters, and run four more steps: the resumed run's snapshots."""
    g = _generator(seed)
    params, targets = _parameters(g, _dtype(dtype), device)
    groups = CONFIGS[config]
    cls = getattr(impl.optimizers, optimizer)

    def build(ps):
        return cls([dict(groups[0], params=[ps[WEIGHT], ps[SMALL], ps[SOMETIMES_NONE]]),
                    dict(groups[1], params=[ps[FROZEN], ps[SECOND]])], **_required(optimizer))

    opt = build(params)
    noises = [{n: 0.1 * torch.randn(p.shape, generator=g, dtype=p.dtype).to(device)
               for n, p in params.items()} for _ in range(STEPS)]
    for step in range(4):
        opt.zero_grad()
        _loss(params, targets, noises[step], step).backward()
        opt.step()
    saved = opt.state_dict()
    copies = {n: p.detach().clone().requires_grad_(p.requires_grad) for n, p in params.items()}
    resumed = build(copies)
    resumed.load_state_dict(saved)
    snapshots = []
    for step in range(4, STEPS):
        resumed.zero_grad()
        _loss(copies, targets, noises[step], step).backward()
        resumed.step()
        snapshots.append(_snapshot(resumed, copies))
    return snapshots


def hyperparameter_validation(impl, *, seed, device, optimizer):
    """Which bad arguments raise what, which values on the boundary are accepted, the stored
    defaults, and per-group overrides."""
    cls = getattr(impl.optimizers, optimizer)
    outcomes = _construct_each(cls, BAD_ARGUMENTS[optimizer])
    boundary = _construct_each(cls, BOUNDARY_ARGUMENTS[optimizer])
    a, b = torch.zeros(2, requires_grad=True), torch.zeros(3, requires_grad=True)
    opt = cls([{"params": [a]}, {"params": [b], "lr": 0.5}], **_required(optimizer))
    groups = [{key: _plain(group[key]) for key in HYPERPARAMETERS[optimizer] if key in group}
              for group in opt.param_groups]
    return {"bad arguments": outcomes, "param groups": groups,
            "arguments on the boundary": boundary,
            "step(closure)": _closure_step(cls, optimizer)}


def _closure_step(cls, optimizer):
    """step(closure): the closure is called once, with autograd on (even inside no_grad),
    its loss is returned, and the update uses the gradients it computed."""
    w = torch.tensor([1.0, -2.0], dtype=torch.float64, requires_grad=True)
    opt = cls([w], **dict(_required(optimizer), lr=0.1))
    calls, modes = [], []

    def closure():
        calls.append(1)
        modes.append(torch.is_grad_enabled())
        opt.zero_grad()
        loss = (w ** 2).sum()
        loss.backward()
        return loss

    with torch.no_grad():
        try:
            returned = opt.step(closure)
        except Exception as error:  # the student's step may raise anything
            return f"raises {type(error).__name__}"
    return {"closure calls": len(calls), "autograd on in the closure": all(modes),
            "returned the closure's loss": isinstance(returned, torch.Tensor)
            and bool(returned.detach() == 5.0),
            "w afterwards": w.detach().clone()}


def _construct_each(cls, arguments):
    outcomes = {}
    for label, kwargs in arguments.items():
        try:
            cls([torch.zeros(2, requires_grad=True)], **kwargs)
            outcomes[label] = "accepted"
        except Exception as error:  # the student's validation may raise anything
            outcomes[label] = type(error).__name__
    return outcomes


def _plain(value):
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, (tuple, list)):
        return tuple(_plain(v) for v in value)
    return value


def _step_inputs(seed, device, optimizer, n_tensors, dtype):
    g = _generator(seed)
    params = []
    for i in range(n_tensors):
        shape = (1 + i % 5, 16 * (1 + i % 9)) if i % 3 else (16 * (1 + i % 7),)
        p = torch.randn(shape, generator=g, dtype=_dtype(dtype)).to(device).requires_grad_()
        p.grad = 0.1 * torch.randn(shape, generator=g, dtype=_dtype(dtype)).to(device)
        params.append(p)
    kwargs = {"SGD": dict(lr=0.01, momentum=0.9, weight_decay=1e-4),
              "Adam": dict(lr=1e-3, weight_decay=1e-4), "AdamW": dict(lr=1e-3)}[optimizer]
    return params, kwargs


def step_speed(impl, *, seed, device, optimizer, n_tensors=200, dtype="float32"):
    """A timed callable: one ``step()`` over ``n_tensors`` parameters of mixed sizes."""
    params, kwargs = _step_inputs(seed, device, optimizer, n_tensors, dtype)
    opt = getattr(impl.optimizers, optimizer)(params, **kwargs)
    return opt.step


def step_speed_torch(impl, *, seed, device, optimizer, n_tensors=200, dtype="float32"):
    """The speed baseline where there is no reference: torch's own optimizer, multi-tensor
    (``foreach=True``), on the same parameters."""
    params, kwargs = _step_inputs(seed, device, optimizer, n_tensors, dtype)
    opt = getattr(torch.optim, optimizer)(params, foreach=True, **kwargs)
    return opt.step
