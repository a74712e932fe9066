# Reference values for crates/micrograd/tests/losses.rs and tests/optim.rs, from PyTorch
# (float64, CPU). Run: python3 tools/reference/torch_losses_optim.py
import torch
torch.set_default_dtype(torch.float64)
F = torch.nn.functional

z = torch.tensor([2.5, -0.3, 0.0, 40.0, -40.0], requires_grad=True)
t = torch.tensor([1.0, 0.0, 1.0, 0.0, 1.0])
bce = F.binary_cross_entropy_with_logits(z, t)
bce.backward()
print("bce", repr(bce.item()), [repr(g) for g in z.grad.tolist()])

logits = torch.tensor([[1.0, 2.0, 0.5, -1.0], [0.0, -3.0, 2.0, 1.0], [1000.0, 0.0, -1000.0, 5.0]], requires_grad=True)
classes = torch.tensor([2, 0, 3])
ce = F.cross_entropy(logits, classes)
ce.backward()
print("ce", repr(ce.item()), [[repr(g) for g in row] for row in logits.grad.tolist()])

p = torch.tensor([0.3, -1.2, 2.0], requires_grad=True)
y = torch.tensor([1.0, 0.5, -1.0])
mse = F.mse_loss(p, y)
mse.backward()
print("mse", repr(mse.item()), [repr(g) for g in p.grad.tolist()])

def run(opt_factory, steps):
    w = torch.tensor([0.5, -1.5, 3.0], requires_grad=True)
    opt = opt_factory([w])
    target = torch.tensor([1.0, 2.0, -1.0])
    scale = torch.tensor([1.0, 3.0, 0.5])
    for _ in range(steps):
        opt.zero_grad()
        loss = (scale * (w - target) ** 2).sum() + (w[0] * w[1]).tanh()
        loss.backward()
        opt.step()
    return [repr(v) for v in w.tolist()]

print("adam", run(lambda ps: torch.optim.Adam(ps, lr=0.1), 10))
print("momentum", run(lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9), 10))
