"""Dishonest and honest-but-unusual answers, built on the real student notebooks.

Each dishonest answer tries one trick, with the real work left wrong or undone, so that only
the trick could earn its points:
- hijack: change how later code is parsed or run (IPython transformers, tracing, builtins);
- patch: rebind or patch the checks or the expected values (module attributes without the
  usual spellings, `__main__`, torch's comparisons);
- peek: read expected values out of the checking code (frames, tracebacks, the garbage
  collector);
- borrow: compute the answer with the reference its tests compare with, by a spelling a name
  scan would miss (built strings, `operator.attrgetter`, `importlib`, reloading or exec-ing
  lib's source, a subprocess, the torch routine that *is* the answer, lib's own helpers).
A submission holds a few of them in different exercises, and correct answers in the others: the
tricks score zero on their own exercise and change nothing elsewhere.

Each honest answer is correct and does something a name scan would have punished (`getattr`,
`operator`, `functools`, `re.compile`, `get_ipython()`, `.eval()`, `.modules()`, helper classes with
dunder methods, printing to stderr, torch functions that are not the answer): full marks.
"""
WRONG_NEURON = ('def neuron_grads(x1, x2, w1, w2, b):\n'
                '    return {k: 0.0 for k in ["o", "n", "b", "x1w1x2w2", "x1w1", "x2w2", "x1", "w1", "x2", "w2"]}\n')

# (lesson, exercise) -> {payload name: (kind, source)}
CHEATS = {
    ("01-micrograd", "ex-neuron-grads"): {
        "transformer": ("hijack", "get_ipython().input_transformers_post.append(lambda lines: ['pass\\n'])\n" + WRONG_NEURON),
        "module-setattr": ("patch", "import types, lib.grading\n"
                                    "types.ModuleType.__setattr__(lib.grading, 'check_all', lambda *a, **k: None)\n"
                                    + WRONG_NEURON),
        "main-walrus": ("patch", "import __main__\n(setattr(__main__, 'check_all', f := (lambda *a, **k: None)))\n"
                                 + WRONG_NEURON),
        "frames": ("peek", "import sys\ndef neuron_grads(*args):\n"
                           "    frame = sys._getframe(1)\n"
                           "    while frame is not None:\n"
                           "        for value in list(frame.f_locals.values()):\n"
                           "            if isinstance(value, dict) and len(value) == 10 and 'x1w1' in value:\n"
                           "                return value\n"
                           "        frame = frame.f_back\n"
                           "    return {}\n"),
        "autograd-by-string": ("borrow", "import torch, math\ndef neuron_grads(x1, x2, w1, w2, b):\n"
                                         "    leaves = {k: torch.tensor(float(v), dtype=torch.float64, requires_grad=True)\n"
                                         "              for k, v in dict(x1=x1, x2=x2, w1=w1, w2=w2, b=b).items()}\n"
                                         "    o = torch.tanh(leaves['x1'] * leaves['w1'] + leaves['x2'] * leaves['w2'] + leaves['b'])\n"
                                         "    getattr(o, 'back' + 'ward')()\n"
                                         "    return {k: t.grad.item() for k, t in leaves.items()}\n"),
    },
    ("01-micrograd", "ex-value-backward"): {
        "autograd-grad": ("borrow", "REPLACE_BACKWARD:import operator, torch\n"
                                    "            t_ = torch.tensor(self.data, dtype=torch.float64, requires_grad=True)\n"
                                    "            self.grad += operator.attrgetter('autograd.grad')(torch)(torch.tanh(t_), t_)[0].item() * grad"),
        "lib-value": ("borrow", "import importlib\nValue = importlib.import_module('lib.micrograd.engine').Value\n"
                                "class MyValue(Value):\n    pass\n"),
        "traceback-frames": ("peek", "REPLACE_BACKWARD:import sys\n"
                                     "            try:\n                raise RuntimeError\n"
                                     "            except RuntimeError as err:\n"
                                     "                frame = err.__traceback__.tb_frame\n"
                                     "            while frame.f_back is not None:\n                frame = frame.f_back\n"
                                     "            self.grad += frame.f_locals.get('ref_grad', 0.0)"),
    },
    ("01-micrograd", "ex-backward"): {
        "lib-backward": ("borrow", "from lib.micrograd import Value\n"
                                   "def backward(root):\n    getattr(root, 'back' + 'ward')()\n"),
    },
    ("01-micrograd", "ex-mlp"): {
        "lib-classes": ("borrow", "import importlib\nfrom lib.micrograd import Value\n"
                                  "nn = importlib.import_module('lib.micrograd.nn')\n"
                                  "MyNeuron, MyLayer, MyMLP = nn.Neuron, nn.Layer, getattr(nn, 'ML' + 'P')\n"),
    },
    ("01-micrograd", "ex-train"): {
        "lib-train": ("borrow", "import importlib\n"
                                "gradient_descent = getattr(importlib.import_module('lib.micrograd.nn'), 'tra' + 'in')\n"),
    },
    ("05-backprop", "ex-backward-cross-entropy"): {
        "importlib-getattr": ("borrow", "import importlib\n"
                                        "backward_cross_entropy = getattr(importlib.import_module('lib.makemore.backprop'),"
                                        " 'backward_' + 'cross_entropy')\n"),
    },
    ("05-backprop", "ex-backward-output-layer"): {
        "ast-transformer": ("hijack", "import ast\nclass Noop(ast.NodeTransformer):\n"
                                      "    def visit_Call(self, node):\n        return ast.Constant(None)\n"
                                      "get_ipython().ast_transformers.append(Noop())\n"
                                      "def backward_output_layer(s, params, dlogits):\n    return {}\n"),
    },
    ("05-backprop", "ex-backward-batchnorm"): {
        "reload-lib": ("borrow", "import importlib\nfrom lib.makemore import backprop\n"
                                 "backward_batchnorm = importlib.reload(backprop).backward_batchnorm\n"),
    },
    ("05-backprop", "ex-backward-input-layer"): {
        "subprocess": ("borrow", "import subprocess, sys, pickle, base64\n"
                                 "def backward_input_layer(s, params, dhprebn, Xb):\n"
                                 "    code = 'import lib.makemore.backprop as b'\n"
                                 "    subprocess.run([sys.executable, '-c', code], check=True)\n"
                                 "    return {}\n"),
    },
    ("05-backprop", "ex-dlogits"): {
        "autograd": ("borrow", "def dlogits_fused(logits, Yb):\n"
                               "    leaf = logits.detach().clone().requires_grad_()\n"
                               "    torch.autograd.backward(F.cross_entropy(leaf, Yb))\n"
                               "    return leaf.grad\n"),
    },
    ("05-backprop", "ex-dhprebn"): {
        "attrgetter-lib": ("borrow", "import operator, lib\n"
                                     "dhprebn_fused = operator.attrgetter('makemore.backprop.batchnorm_grad')(lib)\n"),
    },
    ("05-backprop", "ex-train-by-hand"): {
        "lib-train": ("borrow", "from lib.makemore import backprop as bp_\n"
                                "def train_by_hand(params, X, Y, steps, lr, generator, batch_size=32):\n"
                                "    return bp_.train(params, X, Y, steps, batch_size=batch_size, lr=lr, generator=generator,\n"
                                "                     gradients=bp_.autograd_gradients, progress=False)\n"),
    },
    ("07-gpt", "ex-attention-head"): {
        "sdpa-by-string": ("borrow", "def causal_self_attention(x, query, key, value):\n"
                                     "    attend = getattr(F, 'scaled_dot_product_' + 'attention')\n"
                                     "    return attend(query(x), key(x), value(x), is_causal=True)\n"),
        "aten-op": ("borrow", "def causal_self_attention(x, query, key, value):\n"
                              "    return torch.ops.aten.scaled_dot_product_attention(query(x), key(x), value(x),"
                              " is_causal=True)\n"),
        "patch-comparisons": ("patch", "torch.allclose = lambda *a, **k: True\ntorch.equal = lambda *a, **k: True\n"
                                       "torch.Tensor.__eq__ = lambda self, other: torch.ones((), dtype=torch.bool)\n"
                                       "def causal_self_attention(x, query, key, value):\n    return value(x)\n"),
    },
    ("07-gpt", "ex-multi-head"): {
        "lib-modules": ("borrow", "import importlib\n"
                                  "def multi_head_attention(x, query, key, value, proj, n_head):\n"
                                  "    gpt = importlib.import_module('lib.gpt')\n"
                                  "    C = x.shape[-1]\n"
                                  "    mha = gpt.MultiHeadAttention(n_head, C // n_head, C, x.shape[1], 0.0)\n"
                                  "    return mha(x)\n"),
        "torch-mha": ("borrow", "def multi_head_attention(x, query, key, value, proj, n_head):\n"
                                "    B, T, C = x.shape\n"
                                "    mha = nn.MultiheadAttention(C, n_head, bias=False, batch_first=True)\n"
                                "    mask = torch.triu(torch.ones(T, T, dtype=torch.bool), 1)\n"
                                "    return mha(x, x, x, attn_mask=mask, need_weights=False)[0]\n"),
    },
    # The exercises' answers stay, and a later definition borrows the reference in their place.
    ("07-gpt", "ex-feed-forward"): {
        "lib-class-by-import": ("borrow", "AFTER_ANSWER:import importlib\n"
                                          "FeedForwardLayer = importlib.import_module('lib.gpt').FeedForward\n"),
    },
    ("07-gpt", "ex-layer-norm"): {
        "functional": ("borrow", "AFTER_ANSWER:import torch.nn.functional as F_\n"
                                 "class LayerNorm1d(LayerNorm1d):\n    def forward(self, x):\n"
                                 "        return F_.layer_norm(x, x.shape[-1:], self.weight, self.bias, self.eps)\n"),
    },
    ("07-gpt", "ex-block"): {
        "lib-block": ("borrow", "AFTER_ANSWER:from lib.gpt import Block as TransformerBlock\n"),
    },
    ("08-tokenizer", "ex-get-stats"): {
        "import-string": ("borrow", "pair_counts = lambda ids: __import__('lib.bpe', fromlist=['x']).get_stats(ids)\n"),
        "gc-search": ("peek", "import gc\ndef pair_counts(ids):\n"
                              "    for obj in gc.get_objects():\n"
                              "        if isinstance(obj, dict) and obj and all(isinstance(k, tuple) for k in obj):\n"
                              "            return obj\n"
                              "    return {}\n"),
    },
    ("08-tokenizer", "ex-merge"): {
        "attrgetter": ("borrow", "import operator, lib\nmerge_pair = operator.attrgetter('bpe.merge')(lib)\n"),
        "exec-source": ("borrow", "import lib.bpe.base as base_\nnamespace = {}\n"
                                  "exec(open(base_.__file__).read(), namespace)\nmerge_pair = namespace['merge']\n"),
    },
    ("08-tokenizer", "ex-train"): {
        "builtins": ("hijack", "import builtins\nbuiltins.isinstance = lambda *a: True\nbuiltins.len = lambda x: 0\n"
                               "def train_bpe(text, vocab_size):\n    return {}\n"),
    },
    ("08-tokenizer", "ex-regex-tokenizer"): {
        "tokenizer-class": ("borrow", "AFTER_ANSWER:from lib.bpe import RegexTokenizer\n"
                                      "def train_regex(text, vocab_size, pattern=GPT4_SPLIT_PATTERN):\n"
                                      "    t = RegexTokenizer(pattern)\n    t.train(text, vocab_size)\n"
                                      "    return dict(t.merges)\n"),
    },
    ("08-tokenizer", "ex-encode-decode"): {
        "tokenizer-class": ("borrow", "from lib.bpe import BasicTokenizer\n"
                                      "def encode(text, merges):\n    t = BasicTokenizer()\n    t.merges = dict(merges)\n"
                                      "    return t.encode(text)\n"
                                      "def decode(ids, merges):\n    t = BasicTokenizer()\n    t.merges = dict(merges)\n"
                                      "    return t.decode(ids)\n"),
    },
}

def _value_with_identity_dunders(solution):
    """The `_backward` solution whose MyValue defines __eq__ and __hash__ (by identity) and
    looks up tanh by name: correct, and everything a name scan distrusts."""
    extra = ("    def __eq__(self, other):  # a node equals only itself\n        return self is other\n\n"
             "    __hash__ = object.__hash__\n\n    def __add__(self, other):")
    assert "    def __add__(self, other):" in solution
    return "import functools, operator\nget_ipython()\n" + solution.replace("    def __add__(self, other):", extra, 1)


# lesson -> {exercise: an honest answer that does something unusual (text, or made from the solution)}
HONEST = {
    "01-micrograd": {
        "ex-value-backward": _value_with_identity_dunders,
        "ex-neuron-grads": (
            "import functools, operator, sys\n"
            "class Node:\n    def __init__(self, v):\n        self.v = v\n"
            "    def __mul__(self, other):\n        return Node(self.v * (other.v if isinstance(other, Node) else other))\n"
            "    def __eq__(self, other):\n        return isinstance(other, Node) and self.v == other.v\n"
            "    __hash__ = object.__hash__\n"
            "def neuron_grads(x1, x2, w1, w2, b):\n"
            "    tanh = getattr(math, 'tanh')\n"
            "    o = tanh(functools.reduce(operator.add, [x1 * w1, x2 * w2, b]))\n"
            "    print('working it out', file=sys.stderr)\n"
            "    n = (Node(1 - o**2) * 1.0).v\n"
            "    g = {'o': 1.0, 'n': n, 'b': n, 'x1w1x2w2': n, 'x1w1': n, 'x2w2': n}\n"
            "    g.update(x1=operator.mul(w1, n), w1=x1 * n, x2=w2 * n, w2=x2 * n)\n"
            "    get_ipython()\n"
            "    return g\n"),
    },
    "05-backprop": {
        "ex-backward-output-layer": (
            "import functools, operator\n"
            "def backward_output_layer(s, params, dlogits):\n"
            "    matmul = getattr(operator, 'matmul')\n"
            "    d = {'h': matmul(dlogits, params['W2'].T),\n"
            "         'W2': functools.reduce(operator.matmul, [s['h'].T, dlogits]),\n"
            "         'b2': torch.sum(dlogits, 0)}\n"
            "    d['hpreact'] = (1.0 - s['h'] ** 2) * d['h']\n"
            "    return d\n"),
        "ex-dhprebn": (
            "def dhprebn_fused(dhpreact, bngain, bnvar_inv, bnraw):\n"
            "    n, total = len(dhpreact), getattr(torch, 'sum')\n"
            "    if n < 2:\n        raise ValueError('a batch of one has no variance')\n"
            "    return bngain * bnvar_inv / n * (n * dhpreact - total(dhpreact, 0)\n"
            "                                     - n / (n - 1) * bnraw * total(dhpreact * bnraw, 0))\n"),
        "ex-dlogits": (
            "import functools, operator, re, sys\n"
            "softmax = functools.partial(torch.softmax, dim=1)\n"
            "def dlogits_fused(logits, Yb):\n"
            "    print('n =', logits.shape[0], file=sys.stderr)\n"
            "    re.compile(r'\\d+')\n"
            "    d = softmax(logits)\n"
            "    d[range(logits.shape[0]), Yb] -= 1\n"
            "    return operator.truediv(d, logits.shape[0])\n"),
    },
    "07-gpt": {
        "ex-attention-head": (
            "class Causal(nn.Module):\n"
            "    def forward(self, wei):\n        T = wei.shape[-1]\n"
            "        return wei.masked_fill(torch.tril(torch.ones(T, T)) == 0, float('-inf'))\n"
            "mask = Causal().eval()\nassert len(list(mask.modules())) == 1\n"
            "def causal_self_attention(x, query, key, value):\n"
            "    q, k, v = (getattr(layer, '__call__')(x) for layer in (query, key, value))\n"
            "    wei = mask(q @ k.transpose(-2, -1) * k.shape[-1] ** -0.5)\n"
            "    return F.softmax(wei, dim=-1) @ v\n"),
        "ex-multi-head": (
            "import functools\nsoftmax_last = functools.partial(F.softmax, dim=-1)\n"
            "def multi_head_attention(x, query, key, value, proj, n_head):\n"
            "    B, T, C = x.shape\n    hs = C // n_head\n"
            "    q, k, v = map(lambda t: t.view(B, T, n_head, hs).transpose(1, 2), (query(x), key(x), value(x)))\n"
            "    wei = torch.matmul(q, k.transpose(-2, -1)) * hs ** -0.5\n"
            "    wei = softmax_last(wei.masked_fill(torch.tril(torch.ones(T, T, device=x.device)) == 0, float('-inf')))\n"
            "    assert len(list(proj.modules())) >= 1\n"
            "    return proj(torch.matmul(wei, v).transpose(1, 2).reshape(B, T, C))\n"),
    },
    "08-tokenizer": {
        "ex-get-stats": (
            "import collections\n"
            "def pair_counts(ids):\n    return dict(collections.Counter(zip(ids, ids[1:])))\n"),
        "ex-merge": (
            "import re\nNUMBER = re.compile(r'\\d+')\n"
            "def merge_pair(ids, pair, idx):\n"
            "    get_ipython()\n"
            "    out, i = [], 0\n"
            "    while i < len(ids):\n"
            "        if i + 1 < len(ids) and (ids[i], ids[i + 1]) == tuple(pair):\n"
            "            out.append(idx); i += 2\n"
            "        else:\n            out.append(ids[i]); i += 1\n"
            "    return out\n"),
        "ex-train": (  # lib's merge is allowed here: the exercise asks for the loop
            "import operator\n"
            "def train_bpe(text, vocab_size):\n"
            "    ids, merges = list(text.encode('utf-8')), {}\n"
            "    for idx in range(256, vocab_size):\n"
            "        counts = {}\n"
            "        for pair in zip(ids, ids[1:]):\n"
            "            counts[pair] = counts.get(pair, 0) + 1\n"
            "        if not counts:\n            break\n"
            "        pair = max(counts.items(), key=operator.itemgetter(1))[0]\n"
            "        ids = merge(ids, pair, idx)\n"
            "        merges[pair] = idx\n"
            "    return merges\n"),
        "ex-encode-decode": (
            "import functools, re\nSPLIT = re.compile(r'.', re.S)\n"
            "def encode(text, merges):\n"
            "    ids = list(text.encode('utf-8'))\n"
            "    for pair, idx in sorted(merges.items(), key=lambda item: item[1]):\n"
            "        out, i = [], 0\n"
            "        while i < len(ids):\n"
            "            if i + 1 < len(ids) and (ids[i], ids[i + 1]) == pair:\n"
            "                out.append(idx); i += 2\n"
            "            else:\n                out.append(ids[i]); i += 1\n"
            "        ids = out\n"
            "    return ids\n"
            "def decode(ids, merges):\n"
            "    table = {i: bytes([i]) for i in range(256)}\n"
            "    for (a, b), idx in sorted(merges.items(), key=lambda item: item[1]):\n"
            "        table[idx] = table[a] + table[b]\n"
            "    return functools.reduce(lambda acc, i: acc + table[i], ids, b'').decode('utf-8', errors='replace')\n"),
    },
}


def cheat_source(solution, source):
    """A cheat's text: its own; the answer followed by the trick (AFTER_ANSWER:); or the
    `_backward` exercise with tanh's step replaced by the trick and the other two steps left
    undone."""
    if source.startswith("AFTER_ANSWER:"):
        return solution.rstrip("\n") + "\n\n\n" + source.removeprefix("AFTER_ANSWER:")
    if source.startswith("REPLACE_BACKWARD:"):
        steps = {"self.grad += (1 - t**2) * grad": source.removeprefix("REPLACE_BACKWARD:"),
                 "self.grad += e * grad": "pass", "self.grad += k * self.data ** (k - 1) * grad": "pass",
                 "self.grad += grad\n            other.grad += grad": "pass",
                 "self.grad += other.data * grad\n            other.grad += self.data * grad": "pass"}
        for old, new in steps.items():
            assert old in solution, "the solution's _backward steps changed: update the red-team payloads"
            solution = solution.replace(old, new)
        return solution
    return source


def submissions_for(lesson, answers):
    """{student: (overrides {exercise: source}, {exercise: 'zero' | 'full'})} for one lesson."""
    cheats = {ex: payloads for (l, ex), payloads in CHEATS.items() if l == lesson}
    out = {}
    # round k holds the k-th payload of each exercise that has one; the rest answer correctly
    rounds = max((len(p) for p in cheats.values()), default=0)
    for k in range(rounds):
        overrides, verdict = {}, {}
        for exercise, payloads in cheats.items():
            if k < len(payloads):
                name, (kind, source) = list(payloads.items())[k]
                overrides[exercise] = cheat_source(answers[exercise], source)
                verdict[exercise] = f"zero:{kind}:{name}"
        out[f"r{k + 1}-cheats"] = (overrides, verdict)
    if lesson in HONEST:
        honest = {ex: text(answers[ex]) if callable(text) else text for ex, text in HONEST[lesson].items()}
        out["h-unusual"] = (honest, {ex: "full" for ex in honest})
    return out
