# A second micrograd-exported model and dataset, with the trajectory Python
# micrograd 0.1.0 prints for it: MLP(3, [5, 4, 1]) on 30 random points.
import json, random
from micrograd.engine import Value
from micrograd.nn import MLP
random.seed(42)
X = [[random.uniform(-2, 2) for _ in range(3)] for _ in range(30)]
y = [1 if x[0] * x[1] - x[2] > 0 else -1 for x in X]
model = MLP(3, [5, 4, 1])
layers = [[[[w.data for w in n.w], n.b.data] for n in layer.neurons] for layer in model.layers]
steps = 50
losses, accs = [], []
for k in range(steps):
    inputs = [list(map(Value, xrow)) for xrow in X]
    scores = list(map(model, inputs))
    ls = [(1 + -yi*si).relu() for yi, si in zip(y, scores)]
    total = sum(ls) * (1.0 / len(ls)) + 1e-4 * sum((p*p for p in model.parameters()))
    acc = sum((yi > 0) == (s.data > 0) for yi, s in zip(y, scores)) / len(y)
    model.zero_grad(); total.backward()
    lr = 1.0 - 0.9*k/steps
    for p in model.parameters(): p.data -= lr * p.grad
    losses.append(total.data); accs.append(acc)
json.dump({"about": "Made by Python micrograd 0.1.0: random.seed(42); 30 points uniform in [-2, 2]^3, "
           "y = sign(x0*x1 - x2); model = MLP(3, [5, 4, 1]); demo.ipynb's loss and SGD with "
           "lr = 1.0 - 0.9*k/50 for k in 0..50. 'expected' holds the loss and accuracy micrograd "
           "prints at every step.",
           "X": X, "y": y, "layers": layers,
           "expected": {"loss": losses, "accuracy": accs}}, open('crates/micrograd/data/micrograd_reference_mlp_3_5_4_1.json', 'w'))
print(losses[0], losses[-1], accs[-1])
