"""An independent, plainly written version of the paper's curvature recursion (Appendix C), for tests.

The network is written out as an explicit list of connections (unit i <- unit j, with the parameter it
shares and a constant multiplier: the connection's weight is multiplier * parameter). The recursion
then runs over connections, one sample at a time:

    d2E/da_i^2 = f'(a_i)^2 * sum over connections (k <- i) of u_ki^2 d2E/da_k^2
    h[param]  += multiplier^2 * x_j^2 * d2E/da_i^2     for every connection (i <- j)

and h is averaged over the samples. No convolution routine is used: only index lists built by loops.
"""
import torch

from lenet_utils.sdlm import map_rbf_hessian_diag


def _param_offsets(model):
    offsets, total = {}, 0
    for name, p in model.named_parameters():
        offsets[name] = (total, p.shape)
        total += p.numel()
    return offsets, total


def _flat_index(offsets, name, *index):
    start, shape = offsets[name]
    flat = 0
    for i, n in zip(index, shape):
        flat = flat * n + i
    return start + flat


def connection_graph(model):
    """Per layer (bottom to top): dict with unit count and connection lists as tensors
    out [C], inp [C], param [C], mult [C], and bias param per unit [U]."""
    off, total = _param_offsets(model)
    layers = []

    def conv_layer(name, in_shape, out_maps, links, k):
        cin, hin, win = in_shape
        hout, wout = hin - k + 1, win - k + 1
        out, inp, par = [], [], []
        for link, (o, i) in enumerate(links):
            for r in range(hout):
                for c in range(wout):
                    for kr in range(k):
                        for kc in range(k):
                            out.append((o * hout + r) * wout + c)
                            inp.append((i * hin + r + kr) * win + c + kc)
                            if name == "c3":
                                par.append(_flat_index(off, "c3.weight", link, kr, kc))
                            else:
                                par.append(_flat_index(off, f"{name}.weight", o, i, kr, kc))
        bias = [_flat_index(off, f"{name}.bias", o) for o in range(out_maps) for _ in range(hout * wout)]
        layers.append({"name": name, "units": out_maps * hout * wout, "out": out, "inp": inp, "param": par,
                       "mult": [1.0] * len(out), "bias": bias, "shape": (out_maps, hout, wout)})

    def sub_layer(name, in_shape):
        ch, hin, win = in_shape
        hout, wout = hin // 2, win // 2
        out, inp, par = [], [], []
        for m in range(ch):
            for r in range(hout):
                for c in range(wout):
                    for dr in range(2):
                        for dc in range(2):
                            out.append((m * hout + r) * wout + c)
                            inp.append((m * hin + 2 * r + dr) * win + 2 * c + dc)
                            par.append(_flat_index(off, f"{name}.weight", m))
        bias = [_flat_index(off, f"{name}.bias", m) for m in range(ch) for _ in range(hout * wout)]
        layers.append({"name": name, "units": ch * hout * wout, "out": out, "inp": inp, "param": par,
                       "mult": [0.25] * len(out), "bias": bias, "shape": (ch, hout, wout)})

    conv_layer("c1", (1, 32, 32), 6, [(o, 0) for o in range(6)], 5)
    sub_layer("s2", (6, 28, 28))
    conv_layer("c3", (6, 14, 14), 16, [(o, i) for o, maps in enumerate(model.c3.table) for i in maps], 5)
    sub_layer("s4", (16, 10, 10))
    conv_layer("c5", (16, 5, 5), 120, [(o, i) for o in range(120) for i in range(16)], 5)
    out, inp, par = [], [], []
    for o in range(84):
        for i in range(120):
            out.append(o)
            inp.append(i)
            par.append(_flat_index(off, "f6.weight", o, i))
    layers.append({"name": "f6", "units": 84, "out": out, "inp": inp, "param": par, "mult": [1.0] * len(out),
                   "bias": [_flat_index(off, "f6.bias", o) for o in range(84)], "shape": (84,)})
    for layer in layers:
        for key in ("out", "inp", "param", "bias"):
            layer[key] = torch.tensor(layer[key])
        layer["mult"] = torch.tensor(layer["mult"])
    return layers, off, total


def per_sample_paper_h(model, x, j=0.1):
    """The paper's h (Appendix C) for every parameter, averaged over the samples x [N, 1, 32, 32]."""
    layers, off, total = connection_graph(model)
    theta = torch.cat([p.detach().flatten() for _, p in model.named_parameters()]).double()
    A, S = model.squash.A, model.squash.S
    h = torch.zeros(total, dtype=torch.float64)
    for sample in x:
        # forward over the connection lists
        states, pres = [sample.reshape(-1).double()], []
        for layer in layers:
            u = layer["mult"].double() * theta[layer["param"]]
            a = theta[layer["bias"]].clone().index_add_(0, layer["out"], u * states[-1][layer["inp"]])
            pres.append(a)
            states.append(A * torch.tanh(S * a))
        # top: d2E/dx^2 of the F6 outputs from the MAP loss through the fixed RBF layer
        d2x = map_rbf_hessian_diag(states[-1].unsqueeze(0), model.output.centres.double(), j)[0]
        for n in range(len(layers) - 1, -1, -1):
            layer = layers[n]
            fprime = A * S * (1 - torch.tanh(S * pres[n]) ** 2)
            d2a = fprime ** 2 * d2x
            x_in = states[n]
            mult2 = layer["mult"].double() ** 2
            h.index_add_(0, layer["param"], mult2 * x_in[layer["inp"]] ** 2 * d2a[layer["out"]])
            h.index_add_(0, layer["bias"], d2a)
            u2 = mult2 * theta[layer["param"]] ** 2
            d2x = torch.zeros(len(x_in), dtype=torch.float64).index_add_(0, layer["inp"], u2 * d2a[layer["out"]])
    h /= len(x)
    return {name: h[start:start + int(torch.Size(shape).numel())].view(shape).float()
            for name, (start, shape) in off.items()}


def graph_forward_matches(model, x) -> float:
    """Largest difference between the connection-graph forward pass and the model's F6 output."""
    layers, off, _ = connection_graph(model)
    theta = torch.cat([p.detach().flatten() for _, p in model.named_parameters()]).double()
    A, S = model.squash.A, model.squash.S
    worst = 0.0
    for sample in x:
        s = sample.reshape(-1).double()
        for layer in layers:
            u = layer["mult"].double() * theta[layer["param"]]
            s = A * torch.tanh(S * theta[layer["bias"]].clone().index_add_(0, layer["out"], u * s[layer["inp"]]))
        worst = max(worst, (s.float() - model.f6_output(sample.unsqueeze(0))[0]).abs().max().item())
    return worst
