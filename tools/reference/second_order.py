"""Reference numbers for second-order derivatives, computed by JAX in float64.

Writes crates/micrograd/tests/data/second_order.json (read by
crates/micrograd/tests/second_order.rs). Run from the repository root:

    python tools/reference/second_order.py

Needs jax, numpy and mpmath (mpmath only checks the JAX numbers against
40-digit ones and drops expressions where they differ). Deterministic: every random draw comes from a fixed seed.

Sections of the JSON file:
  expressions  random expressions (Python syntax) with value, gradient and Hessian
  jvp          random expressions with a tangent and the directional derivative
  third_order  one-variable expressions with their first three derivatives
  demo_hvp     Hessian-vector products of micrograd's demo.ipynb loss
"""

import json
import math
import os
import random

import jax
import jax.numpy as jnp
import mpmath as mp
import numpy as np

jax.config.update("jax_enable_x64", True)

OUT = "crates/micrograd/tests/data/second_order.json"
DEMO = "crates/micrograd/data/micrograd_demo_moons.json"

VARS = ("x", "y", "z")
FUNCS = ("tanh", "exp", "log", "relu", "sigmoid", "softplus", "sin", "cos")
EPS = 1e-3      # distance kept from kinks, log(0) and division by zero
BOUND = 1e6     # |value|, gradient and Hessian entries (and intermediates) stay below

JAX_NS = {
    "tanh": jnp.tanh,
    "exp": jnp.exp,
    "log": jnp.log,
    "relu": lambda a: jnp.where(a > 0, a, 0.0),
    "sigmoid": lambda a: 1.0 / (1.0 + jnp.exp(-a)),
    "softplus": lambda a: jnp.log1p(jnp.exp(a)),
    "sin": jnp.sin,
    "cos": jnp.cos,
}

MP_NS = {
    "tanh": mp.tanh,
    "exp": mp.exp,
    "log": mp.log,
    "relu": lambda a: a if a > 0 else mp.mpf(0),
    "sigmoid": lambda a: 1 / (1 + mp.exp(-a)),
    "softplus": lambda a: mp.log(1 + mp.exp(a)),
    "sin": mp.sin,
    "cos": mp.cos,
}
mp.mp.dps = 40
TINY = 1e-8     # nonzero intermediates smaller than this (underflow-ish chains) are rejected
MP_TOL = 1e-12  # JAX vs 40 digits: |jax - exact| <= MP_TOL * max(1, |exact|)

# ---------------------------------------------------------------------------
# Expression trees
#   ("num", text) ("var", name) ("neg", e) ("bin", op, a, b) ("pow", base, exp)
#   ("call", name, e)
# Precedence levels: sum 1, product 2, unary 3, power 4, atom 5.


def level(e):
    k = e[0]
    if k == "bin":
        return 1 if e[1] in "+-" else 2
    if k == "neg":
        return 3
    if k == "pow":
        return 4
    return 5


def render(e, need=1):
    k = e[0]
    if k == "num" or k == "var":
        s = e[1]
    elif k == "neg":
        s = "-" + render(e[1], 3)
    elif k == "bin":
        op, a, b = e[1], e[2], e[3]
        if op in "+-":
            s = render(a, 1) + " " + op + " " + render(b, 2)
        else:
            s = render(a, 2) + op + render(b, 3)
    elif k == "pow":
        s = render(e[1], 5) + "**" + render(e[2], 3)
    elif k == "call":
        s = e[1] + "(" + render(e[2], 1) + ")"
    else:
        raise ValueError(k)
    if level(e) < need:
        s = "(" + s + ")"
    return s


def variables(e, acc=None):
    acc = set() if acc is None else acc
    if e[0] == "var":
        acc.add(e[1])
    for c in e[1:]:
        if isinstance(c, tuple):
            variables(c, acc)
    return acc


def features(e, acc=None):
    """Names of the functions used, plus 'nodepow', 'constpow', 'div', 'neg'."""
    acc = set() if acc is None else acc
    k = e[0]
    if k == "call":
        acc.add(e[1])
    elif k == "pow":
        acc.add("nodepow" if variables(e[2]) else "constpow")
    elif k == "bin" and e[1] == "/":
        acc.add("div")
    elif k == "neg":
        acc.add("neg")
    for c in e[1:]:
        if isinstance(c, tuple):
            features(c, acc)
    return acc


def depth(e):
    kids = [c for c in e[1:] if isinstance(c, tuple)]
    return 1 + max((depth(c) for c in kids), default=0)


class Bad(Exception):
    pass


def evaluate(e, env):
    """Plain float64 evaluation that raises Bad where the expression is not
    smooth and finite at env (the checks the brief asks for)."""
    k = e[0]
    if k == "num":
        v = float(e[1])
    elif k == "var":
        v = env[e[1]]
    elif k == "neg":
        v = -evaluate(e[1], env)
    elif k == "bin":
        a, b = evaluate(e[2], env), evaluate(e[3], env)
        op = e[1]
        if op == "+":
            v = a + b
        elif op == "-":
            v = a - b
        elif op == "*":
            v = a * b
        else:
            if abs(b) <= EPS:
                raise Bad("division by ~0")
            v = a / b
    elif k == "pow":
        a, b = evaluate(e[1], env), evaluate(e[2], env)
        if variables(e[2]):
            if a <= EPS:
                raise Bad("node exponent with base <= eps")
        elif float(b) != int(b):
            if a <= EPS:
                raise Bad("non-integer power of base <= eps")
        elif b < 0 and abs(a) <= EPS:
            raise Bad("negative power of ~0")
        try:
            v = a ** b
        except OverflowError:
            raise Bad("overflow")
    elif k == "call":
        a = evaluate(e[2], env)
        f = e[1]
        if f == "relu":
            if abs(a) <= EPS:
                raise Bad("relu at ~0")
            v = max(a, 0.0)
        elif f == "log":
            if a <= EPS:
                raise Bad("log of <= eps")
            v = math.log(a)
        elif f == "exp":
            if a > 50:
                raise Bad("exp overflow")
            v = math.exp(a)
        elif f == "tanh":
            v = math.tanh(a)
        elif f == "sigmoid":
            v = 1.0 / (1.0 + math.exp(-a)) if a > -700 else 0.0
        elif f == "softplus":
            v = math.log1p(math.exp(a)) if a < 700 else a
        elif f == "sin":
            v = math.sin(a)
        elif f == "cos":
            v = math.cos(a)
        else:
            raise ValueError(f)
    else:
        raise ValueError(k)
    if isinstance(v, complex) or not math.isfinite(v) or abs(v) >= BOUND:
        raise Bad("intermediate not finite or too large")
    if v != 0 and abs(v) < TINY:
        raise Bad("intermediate nonzero but tiny")
    return v


NUMS = ["1", "2", "3", "0.5", "1.5", "2.5", "0.25", "4", "0.1"]
CONST_EXPS = [("2",), ("3",), ("-1",), ("0.5",), ("-2",), ("1.5",), ("4",), ("-0.5",), ("2",), ("3",)]


def const_exp(rng):
    t = rng.choice(CONST_EXPS)[0]
    if t.startswith("-"):
        return ("neg", ("num", t[1:]))
    return ("num", t)


def gen(rng, names, d, want=None):
    """A random expression of depth <= d over names. `want` forces the root
    kind ('call:<f>' or 'nodepow')."""
    if want is not None and want.startswith("call:"):
        return ("call", want[5:], gen(rng, names, d - 1))
    if want == "nodepow":
        base = gen_positive_base(rng, names, max(d - 1, 1))
        return ("pow", base, gen_with_var(rng, names, d - 1))
    if d <= 1:
        if rng.random() < 0.8:
            return ("var", rng.choice(names))
        return ("num", rng.choice(NUMS))
    r = rng.random()
    if r < 0.35:
        op = rng.choice("+-*/")
        a = gen(rng, names, d - 1)
        b = gen(rng, names, d - 1)
        if not variables(a) and not variables(b):
            a = ("var", rng.choice(names))
        return ("bin", op, a, b)
    if r < 0.65:
        return ("call", rng.choice(FUNCS), gen_with_var(rng, names, d - 1))
    if r < 0.8:
        return ("pow", gen_with_var(rng, names, d - 1, atomish=True), const_exp(rng))
    if r < 0.9:
        return gen(rng, names, d, want="nodepow")
    e = gen_with_var(rng, names, d - 1)
    return e if e[0] == "neg" else ("neg", e)   # no "--"


def gen_with_var(rng, names, d, atomish=False):
    for _ in range(20):
        e = gen(rng, names, max(d, 1))
        if variables(e) and (not atomish or e[0] != "num"):
            return e
    return ("var", rng.choice(names))


def gen_positive_base(rng, names, d):
    """Bases for node exponents: mostly things that are positive anyway."""
    r = rng.random()
    if r < 0.35:
        return ("var", rng.choice(names))
    if r < 0.5:
        return ("num", rng.choice(["2", "3", "0.5", "1.5"]))
    if r < 0.8:
        f = rng.choice(["exp", "sigmoid", "softplus"])
        return ("call", f, gen(rng, names, max(d - 1, 1)))
    return gen_with_var(rng, names, d)


def ordered(names):
    return [v for v in VARS if v in names]


def draw_point(rng, names, positive):
    lo = 0.05 if positive else -2.0
    return {v: round(rng.uniform(lo, 2.0), 3) for v in names}


def jax_fn(text, names):
    code = compile(text, "<expr>", "eval")

    def f(vec):
        ns = dict(JAX_NS)
        for i, v in enumerate(names):
            ns[v] = vec[i]
        return eval(code, {"__builtins__": {}}, ns)

    return f


def derivatives(text, names, point):
    f = jax_fn(text, names)
    p = jnp.array([point[v] for v in names], dtype=jnp.float64)
    val = float(f(p))
    g = np.asarray(jax.grad(f)(p), dtype=np.float64)
    h = np.asarray(jax.hessian(f)(p), dtype=np.float64)
    return f, p, val, g, h


def acceptable(tree, text, names, point):
    try:
        plain = evaluate(tree, point)
    except Bad:
        return None
    f, p, val, g, h = derivatives(text, names, point)
    if not (math.isfinite(val) and np.all(np.isfinite(g)) and np.all(np.isfinite(h))):
        return None
    if abs(val) >= BOUND or np.any(np.abs(g) >= BOUND) or np.any(np.abs(h) >= BOUND):
        return None
    # the rendered text and the tree must be the same function
    assert abs(val - plain) <= 1e-12 * max(1.0, abs(val)), (text, val, plain)
    err = mp_error(text, names, point, val, g, h)
    CHECKS["mp_errors"].append(err)
    if err > MP_TOL:
        CHECKS["mp_rejected"].append((text, point, err))
        return None
    return f, p, val, g, h


def mp_error(text, names, point, val, g, h):
    """Largest |jax - exact| / max(1, |exact|) over value, gradient and Hessian,
    exact = mpmath at 40 digits (derivatives by mpmath.diff)."""
    code = compile(text, "<expr>", "eval")

    def f(*args):
        return eval(code, {"__builtins__": {}}, dict(MP_NS, **dict(zip(names, args))))

    pt = [mp.mpf(point[v]) for v in names]
    n = len(names)
    pairs = [(val, f(*pt))]
    for i in range(n):
        o = [0] * n
        o[i] = 1
        pairs.append((g[i], mp.diff(f, pt, o)))
        for j in range(i, n):
            o = [0] * n
            o[i] += 1
            o[j] += 1
            pairs.append((h[i, j], mp.diff(f, pt, o)))
    return max(float(abs(mp.mpf(float(a)) - b) / max(1, abs(b))) for a, b in pairs)


def find_point(rng, tree, text, names, tries=40):
    for i in range(tries):
        point = draw_point(rng, names, positive=i >= tries // 2)
        r = acceptable(tree, text, names, point)
        if r is not None:
            return point, r
    return None


STATS = {"generated": 0, "no_valid_point": 0, "duplicate": 0, "missing_variable": 0,
         "wrong_feature": 0, "zero_gradient": 0}


def random_entry(rng, seen, nvars, want, max_depth, flat_budget):
    """flat_budget: a one-element list, how many more entries may have an
    all-zero gradient (e.g. relu of a negative number); counts down."""
    while True:
        STATS["generated"] += 1
        if nvars == 3 or rng.random() < 0.7:
            names = list(VARS[:nvars])
        else:
            names = ordered(rng.sample(VARS, nvars))
        d = rng.randint(2, max_depth)
        tree = gen(rng, names, d, want=want if rng.random() < 0.5 else None)
        if want is not None:
            key = want[5:] if want.startswith("call:") else want
            if key not in features(tree):
                STATS["wrong_feature"] += 1
                continue
        if variables(tree) != set(names):
            STATS["missing_variable"] += 1
            continue
        text = render(tree)
        if text in seen:
            STATS["duplicate"] += 1
            continue
        found = find_point(rng, tree, text, names)
        if found is None:
            STATS["no_valid_point"] += 1
            continue
        point, (f, p, val, g, h) = found
        if not np.any(g):
            if flat_budget[0] <= 0:
                STATS["zero_gradient"] += 1
                continue
            flat_budget[0] -= 1
        seen.add(text)
        return tree, text, names, point, (f, p, val, g, h)


def as_entry(text, names, point, val, g, h):
    return {
        "expr": text,
        "inputs": {v: point[v] for v in names},
        "value": val,
        "gradient": {v: float(g[i]) for i, v in enumerate(names)},
        "hessian": {v: {w: float(h[i, j]) for j, w in enumerate(names)}
                    for i, v in enumerate(names)},
    }


CHECKS = {"mp_errors": [], "mp_rejected": [], "max_asym": 0.0, "max_fd_rel": 0.0, "fd_checked": 0, "max_jvp_vs_grad": 0.0}


def check_entry(text, f, p, g, h):
    """Hessian symmetric; central differences of jax.grad agree with it."""
    asym = float(np.max(np.abs(h - h.T))) if h.size else 0.0
    CHECKS["max_asym"] = max(CHECKS["max_asym"], asym)
    assert asym <= 1e-12 * max(1.0, float(np.max(np.abs(h)))), (text, asym)
    grad = jax.grad(f)
    n = len(p)
    for j in range(n):
        # central differences at steps h and h/2, Richardson-extrapolated
        def central(step):
            e = jnp.zeros(n).at[j].set(step)
            return (np.asarray(grad(p + e)) - np.asarray(grad(p - e))) / (2 * step)

        step = 1e-4 * max(1.0, abs(float(p[j])))
        fd = (4 * central(step / 2) - central(step)) / 3
        for i in range(n):
            rel = abs(fd[i] - h[i, j]) / max(1.0, abs(h[i, j]))
            CHECKS["max_fd_rel"] = max(CHECKS["max_fd_rel"], rel)
            assert rel < 1e-6, (text, i, j, fd[i], h[i, j])
    CHECKS["fd_checked"] += 1


FIXED = [
    ("3*x**2 - 4*x + 5", {"x": 3.0}),
    ("x*y + sin(x)*exp(y)", {"x": 0.5, "y": -1.0}),
    ("tanh(x*y + z)", {"x": 2.0, "y": -3.0, "z": 6.8813735870195432}),
]


def expressions_section(rng):
    out = []
    seen = set()
    for text, point in FIXED:
        names = list(point)
        f, p, val, g, h = derivatives(text, names, point)
        assert mp_error(text, names, point, val, g, h) <= MP_TOL
        check_entry(text, f, p, g, h)
        out.append(as_entry(text, names, point, val, g, h))
        seen.add(text)
    # 57 random ones; each asks for one feature so the quotas are met.
    wants = (["call:relu"] * 11 + ["nodepow"] * 11 +
             ["call:" + fn for fn in FUNCS if fn != "relu"] * 5)
    rng.shuffle(wants)
    nvars_cycle = [1, 2, 3]
    trees = []
    flat = [2]
    for i, want in enumerate(wants):
        nvars = nvars_cycle[i % 3]
        tree, text, names, point, (f, p, val, g, h) = random_entry(
            rng, seen, nvars, want, max_depth=4, flat_budget=flat)
        check_entry(text, f, p, g, h)
        out.append(as_entry(text, names, point, val, g, h))
        trees.append(tree)
    return out, trees


def jvp_section(rng, seen):
    out = []
    flat = [0]
    for i in range(15):
        nvars = [1, 2, 3][i % 3]
        want = ["nodepow", "call:relu", None, "call:log", "call:softplus"][i % 5]
        tree, text, names, point, (f, p, val, g, h) = random_entry(
            rng, seen, nvars, want, max_depth=4, flat_budget=flat)
        tangents = {v: round(rng.gauss(0.0, 1.0), 3) for v in names}
        t = jnp.array([tangents[v] for v in names], dtype=jnp.float64)
        primal, tangent = jax.jvp(f, (p,), (t,))
        dot = float(np.dot(g, np.asarray(t)))
        diff = abs(float(tangent) - dot) / max(1.0, abs(dot))
        CHECKS["max_jvp_vs_grad"] = max(CHECKS["max_jvp_vs_grad"], diff)
        assert diff < 1e-12, (text, float(tangent), dot)
        out.append({
            "expr": text,
            "inputs": {v: point[v] for v in names},
            "tangents": tangents,
            "value": float(primal),
            "jvp": float(tangent),
        })
    return out


THIRD = [
    ("x**4", 0.7, lambda x: 24 * x),
    ("sin(x)*x", 1.3, lambda x: -3 * math.sin(x) - x * math.cos(x)),
    ("exp(2*x)", -0.4, lambda x: 8 * math.exp(2 * x)),
    ("tanh(x)", 0.5, lambda x: (lambda t: -2 * (1 - t * t) * (1 - 3 * t * t))(math.tanh(x))),
    ("log(x)*x**2", 1.7, lambda x: 2 / x),
]


def third_section():
    out = []
    for text, x0, d3_exact in THIRD:
        code = compile(text, "<expr>", "eval")

        def f(x, code=code):
            return eval(code, {"__builtins__": {}}, dict(JAX_NS, x=x))

        d1 = jax.grad(f)
        d2 = jax.grad(d1)
        d3 = jax.grad(d2)
        x = jnp.float64(x0)
        v3 = float(d3(x))
        assert abs(v3 - d3_exact(x0)) <= 1e-12 * max(1.0, abs(v3)), (text, v3, d3_exact(x0))
        out.append({"expr": text, "inputs": {"x": x0}, "value": float(f(x)),
                    "d1": float(d1(x)), "d2": float(d2(x)), "d3": v3})
    return out


def demo_section():
    d = json.load(open(DEMO))
    X = jnp.array(d["X"], dtype=jnp.float64)
    Y = jnp.array(d["y"], dtype=jnp.float64)
    layers = d["layers"]
    shapes = []   # (nin, nout) per layer
    params = []
    for lw in layers:
        shapes.append((len(lw[0][0]), len(lw)))
        for w, b in lw:
            params.extend(w)
            params.append(b)
    assert len(params) == 337, len(params)

    def relu(a):
        return jnp.where(a > 0, a, 0.0)

    def unpack(p):
        out, k = [], 0
        for nin, nout in shapes:
            block = p[k:k + nout * (nin + 1)].reshape(nout, nin + 1)
            out.append((block[:, :nin], block[:, nin]))
            k += nout * (nin + 1)
        return out

    def scores(p):
        h = X
        ws = unpack(p)
        for li, (W, b) in enumerate(ws):
            h = h @ W.T + b
            if li != len(ws) - 1:
                h = relu(h)
        return h[:, 0]

    def loss(p):
        losses = relu(1.0 - Y * scores(p))
        data_loss = jnp.sum(losses) * (1.0 / losses.shape[0])
        reg = 1e-4 * jnp.sum(p * p)
        return data_loss + reg

    p = jnp.array(params, dtype=jnp.float64)
    total = float(loss(p))
    # micrograd's step 0 loss, as demo.ipynb prints it
    assert abs(total - d["expected"]["loss_by_step"]["0"]) < 1e-14, total
    g = jax.grad(loss)(p)
    # one SGD step with lr 1.0 gives micrograd's step 1 loss
    l1 = float(loss(p - 1.0 * g))
    assert abs(l1 - d["expected"]["loss_by_step"]["1"]) < 1e-13, l1

    # distance of every ReLU input from its kink (hidden units and hinge)
    h = X
    margins = []
    for li, (W, b) in enumerate(unpack(p)):
        pre = h @ W.T + b
        if li != len(shapes) - 1:
            margins.append(float(jnp.min(jnp.abs(pre))))
            h = relu(pre)
    margins.append(float(jnp.min(jnp.abs(1.0 - Y * h[:, 0]))))
    CHECKS["demo_relu_min_margin"] = min(margins)

    hess = np.asarray(jax.hessian(loss)(p))
    CHECKS["demo_hessian_asym"] = float(np.max(np.abs(hess - hess.T)))
    rng = np.random.default_rng(20240611)
    v_rand = rng.standard_normal(337)
    vectors = []
    max_rel = 0.0
    for name, v in (("gradient", np.asarray(g)), ("random", v_rand)):
        vj = jnp.array(v, dtype=jnp.float64)
        hvp = np.asarray(jax.jvp(jax.grad(loss), (p,), (vj,))[1])
        dense = hess @ v
        rel = float(np.max(np.abs(hvp - dense)) / np.max(np.abs(dense)))
        max_rel = max(max_rel, rel)
        assert rel < 1e-12, (name, rel)
        vectors.append({"name": name, "v": [float(a) for a in v],
                        "hvp": [float(a) for a in hvp], "vHv": float(np.dot(v, hvp))})
    CHECKS["demo_hvp_vs_dense_rel"] = max_rel
    # elementwise too, for entries that are not tiny
    _, jvp_rand = jax.jvp(loss, (p,), (jnp.array(v_rand),))
    assert abs(float(jvp_rand) - float(np.dot(np.asarray(g), v_rand))) < 1e-12
    return {
        "model": "MLP(2, [16, 16, 1]) of micrograd_demo_moons.json at step 0",
        "params": [float(a) for a in p],
        "loss": total,
        "gradient": [float(a) for a in g],
        "vectors": vectors,
        "jvp_random": float(jvp_rand),
    }


def main():
    # ReLU's derivative at 0 is 0, as micrograd's (out.data > 0) * out.grad
    relu = JAX_NS["relu"]
    assert float(jax.grad(relu)(0.0)) == 0.0 and float(jax.grad(jax.grad(relu))(0.0)) == 0.0
    rng = random.Random(20240611)
    exprs, trees = expressions_section(rng)
    seen = {e["expr"] for e in exprs}
    jvps = jvp_section(rng, seen)
    third = third_section()
    demo = demo_section()

    # quotas from the brief
    feats = [features(t) for t in trees]
    three = sum(1 for e in exprs if len(e["inputs"]) == 3)
    count = {k: sum(1 for f in feats if k in f) for k in list(FUNCS) + ["nodepow", "constpow", "div", "neg"]}
    assert three >= 10 and count["nodepow"] >= 10 and count["relu"] >= 10, (three, count)
    assert all(count[fn] >= 3 for fn in FUNCS), count
    assert max(depth(t) for t in trees) <= 5

    data = {
        "about": "Reference numbers from tools/reference/second_order.py (JAX, float64). "
                 "Expressions use Python syntax; relu(a) = max(a, 0), sigmoid(a) = 1/(1+e^-a), "
                 "softplus(a) = ln(1+e^a), log is natural. Gradients and Hessians are over the "
                 "variables in the order of 'inputs'.",
        "expressions": exprs,
        "jvp": jvps,
        "third_order": third,
        "demo_hvp": demo,
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as fh:
        json.dump(data, fh, indent=1)
        fh.write("\n")

    print("wrote", OUT, os.path.getsize(OUT), "bytes")
    print("expressions", len(exprs), "three-variable", three, "features", count)
    print("jvp", len(jvps), "third_order", len(third))
    print("generator", STATS)
    errs = CHECKS.pop("mp_errors")
    print("mpmath: max error of accepted", max(e for e in errs if e <= MP_TOL),
          "rejected", CHECKS.pop("mp_rejected"))
    print("checks", CHECKS)


if __name__ == "__main__":
    main()
