import json
from micrograd.engine import Value
from micrograd.nn import MLP
d = json.load(open('crates/micrograd/data/micrograd_demo_moons.json'))
X, y = d['X'], d['y']
model = MLP(2, [16, 16, 1])
for layer, lw in zip(model.layers, d['layers']):
    for n, (w, b) in zip(layer.neurons, lw):
        for wi, v in zip(n.w, w): wi.data = v
        n.b.data = b
def loss():
    inputs = [list(map(Value, xrow)) for xrow in X]
    scores = list(map(model, inputs))
    losses = [(1 + -yi*scorei).relu() for yi, scorei in zip(y, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = 1e-4 * sum((p*p for p in model.parameters()))
    total = data_loss + reg_loss
    acc = [(yi > 0) == (s.data > 0) for yi, s in zip(y, scores)]
    return total, sum(acc) / len(acc)
for k in range(100):
    total, acc = loss()
    model.zero_grad(); total.backward()
    lr = 1.0 - 0.9*k/100
    for p in model.parameters(): p.data -= lr * p.grad
    print(k, repr(total.data), acc)
