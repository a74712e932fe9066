import math
class Value:
  def __init__(self, data, _children=(), _op='', label=''):
    self.data = data; self.grad = 0.0; self._backward = lambda: None
    self._prev = set(_children); self._op = _op; self.label = label
  def __add__(self, other):
    other = other if isinstance(other, Value) else Value(other)
    out = Value(self.data + other.data, (self, other), '+')
    def _backward():
      self.grad += 1.0 * out.grad; other.grad += 1.0 * out.grad
    out._backward = _backward; return out
  def __mul__(self, other):
    other = other if isinstance(other, Value) else Value(other)
    out = Value(self.data * other.data, (self, other), '*')
    def _backward():
      self.grad += other.data * out.grad; other.grad += self.data * out.grad
    out._backward = _backward; return out
  def __pow__(self, other):
    out = Value(self.data**other, (self,), f'**{other}')
    def _backward(): self.grad += other * (self.data ** (other - 1)) * out.grad
    out._backward = _backward; return out
  def __rmul__(self, other): return self * other
  def __truediv__(self, other): return self * other**-1
  def __neg__(self): return self * -1
  def __sub__(self, other): return self + (-other)
  def __radd__(self, other): return self + other
  def tanh(self):
    x = self.data; t = (math.exp(2*x) - 1)/(math.exp(2*x) + 1)
    out = Value(t, (self, ), 'tanh')
    def _backward(): self.grad += (1 - t**2) * out.grad
    out._backward = _backward; return out
  def exp(self):
    x = self.data; out = Value(math.exp(x), (self, ), 'exp')
    def _backward(): self.grad += out.data * out.grad
    out._backward = _backward; return out
  def backward(self):
    topo = []; visited = set()
    def build_topo(v):
      if v not in visited:
        visited.add(v)
        for child in v._prev: build_topo(child)
        topo.append(v)
    build_topo(self); self.grad = 1.0
    for node in reversed(topo): node._backward()

def neuron(exp_form):
  x1 = Value(2.0); x2 = Value(0.0); w1 = Value(-3.0); w2 = Value(1.0); b = Value(6.8813735870195432)
  n = x1*w1 + x2*w2 + b
  if exp_form:
    e = (2*n).exp(); o = (e - 1) / (e + 1)
  else:
    o = n.tanh()
  o.backward()
  return [repr(v) for v in (o.data, x1.grad, w1.grad, x2.grad, w2.grad, b.grad, n.data)]
print('tanh', neuron(False)); print('exp ', neuron(True))
