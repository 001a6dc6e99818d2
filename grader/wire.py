"""What crosses between the test kernel and the process that runs a student's answer.

The two sides do not trust each other equally. The test kernel runs only the course's code,
so what it sends (arguments of a call) is pickled and the answer process unpickles it. The
answer process runs student code, so what it sends back is *plain data* in JSON: numbers,
strings, bytes, lists, tuples, dicts, sets, tensors and arrays rebuilt from their raw bytes,
and handles that stand for any other object (a student's Value, a bound method). Nothing
the student defines survives the trip: a float subclass arrives as a float, a tensor
subclass as a plain tensor, and no `__eq__` of the student's ever runs in the test kernel.

Messages are length-prefixed: 4 bytes (big-endian size), then the body.
"""
import base64
import json
import math
import os
import struct

MAX_MESSAGE = 256 * 2**20   # bytes: an answer that returns more is refused, not read
MAX_DEPTH = 64
# dtypes a tensor may arrive in; anything else is refused rather than guessed
TENSOR_DTYPES = ("float64", "float32", "float16", "bfloat16", "int64", "int32", "int16", "int8",
                 "uint8", "bool", "complex64", "complex128")


class WireError(RuntimeError):
    """A message that breaks the protocol: too large, malformed, or cut off."""


def send(fd, body):
    if len(body) > MAX_MESSAGE:
        raise WireError(f"message of {len(body):,} bytes is over the limit of {MAX_MESSAGE:,}")
    data = struct.pack(">I", len(body)) + body
    while data:
        data = data[os.write(fd, data):]


def _read_exactly(fd, size, wait):
    chunks, left = [], size
    while left:
        wait()
        chunk = os.read(fd, min(left, 2**20))
        if not chunk:
            raise WireError("the other side closed the connection")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def receive(fd, wait=lambda: None):
    """One message body; `wait()` runs before each read (the test kernel's deadline check)."""
    (size,) = struct.unpack(">I", _read_exactly(fd, 4, wait))
    if size > MAX_MESSAGE:
        raise WireError(f"message of {size:,} bytes is over the limit of {MAX_MESSAGE:,}")
    return _read_exactly(fd, size, wait)


# -- the answer process's side: any value -> JSON-able plain data ----------------------------
def encode(value, handles, depth=0):
    """Plain data for `value`; objects that are not plain data become handles in `handles`."""
    import torch

    if depth > MAX_DEPTH:
        raise WireError("the value is nested too deeply")
    if value is None or isinstance(value, bool):
        return value if value is None else bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        value = float(value)
        return value if math.isfinite(value) else {"float": repr(value)}
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, (bytes, bytearray)):
        return {"bytes": base64.b64encode(bytes(value)).decode(), "mutable": isinstance(value, bytearray)}
    if isinstance(value, torch.Tensor) and value.layout == torch.strided:
        # A parameter (a leaf that requires grad) comes back as one, so that tests can check the
        # flag; any other tensor as plain data. Read through Tensor's own descriptors (a
        # subclass may override them) and before the alias below, which is no leaf.
        parameter = torch.Tensor.requires_grad.__get__(value) and torch.Tensor.is_leaf.__get__(value)
        return {"tensor": _tensor_data(torch.Tensor.as_subclass(value, torch.Tensor), bool(parameter))}
    for kind, types in (("list", list), ("tuple", tuple), ("set", (set, frozenset))):
        if isinstance(value, types):
            return {kind: [encode(v, handles, depth + 1) for v in value]}
    if isinstance(value, dict):
        return {"dict": [[encode(k, handles, depth + 1), encode(v, handles, depth + 1)] for k, v in value.items()]}
    if type(value).__module__ == "numpy":
        import numpy
        if isinstance(value, numpy.ndarray):
            return {"tensor": _tensor_data(torch.from_numpy(numpy.ascontiguousarray(value))), "numpy": True}
        if isinstance(value, numpy.generic):
            return encode(value.item(), handles, depth + 1)
    handles[id(value)] = value
    return {"handle": id(value), "type": type(value).__qualname__, "callable": callable(value)}


def _tensor_data(t, requires_grad=False):
    import torch

    t = t.detach().cpu().contiguous()
    raw = t.view(torch.int16) if t.dtype == torch.bfloat16 else t  # numpy has no bfloat16
    return {"dtype": str(t.dtype).removeprefix("torch."), "shape": list(t.shape),
            "data": base64.b64encode(raw.numpy().tobytes()).decode(), "requires_grad": requires_grad}


# -- the test kernel's side: plain data -> values, never running student code -------------------
def decode(data, make_handle, depth=0):
    """The value `encode` described; `make_handle(id, type, callable)` builds a handle."""
    if depth > MAX_DEPTH:
        raise WireError("the value is nested too deeply")
    if data is None or isinstance(data, (bool, int, float, str)):
        return data
    if not isinstance(data, dict) or len(data) < 1:
        raise WireError(f"unexpected item in a reply: {type(data).__name__}")
    inner = lambda items: [decode(v, make_handle, depth + 1) for v in _list(items)]  # noqa: E731
    if "float" in data:
        return float(_str(data["float"]))
    if "bytes" in data:
        raw = base64.b64decode(_str(data["bytes"]))
        return bytearray(raw) if data.get("mutable") is True else raw
    if "tensor" in data:
        t = _tensor(data["tensor"])
        return t.numpy() if data.get("numpy") is True else t
    if "list" in data:
        return inner(data["list"])
    if "tuple" in data:
        return tuple(inner(data["tuple"]))
    if "set" in data:
        return set(inner(data["set"]))
    if "dict" in data:
        pairs = [_list(p) for p in _list(data["dict"])]
        if any(len(p) != 2 for p in pairs):
            raise WireError("a dict item is not a key and a value")
        return {decode(k, make_handle, depth + 1): decode(v, make_handle, depth + 1) for k, v in pairs}
    if "handle" in data:
        if not isinstance(data["handle"], int):
            raise WireError("a handle is not a number")
        kind = data.get("type") if isinstance(data.get("type"), str) else "object"
        return make_handle(data["handle"], kind, data.get("callable") is True)
    raise WireError(f"unexpected item in a reply: {sorted(data)[:3]}")


def _str(value):
    if isinstance(value, str):
        return value
    raise WireError("a string was expected")


def _list(value):
    if not isinstance(value, list):
        raise WireError("a list was expected")
    return value


def _tensor(spec):
    import torch

    dtype_name = _str(spec.get("dtype"))
    if dtype_name not in TENSOR_DTYPES:
        raise WireError(f"tensors of dtype {dtype_name} are not accepted")
    shape = _list(spec.get("shape"))
    if not all(isinstance(n, int) and n >= 0 for n in shape):
        raise WireError("a tensor shape holds something other than sizes")
    dtype = getattr(torch, dtype_name)
    raw = base64.b64decode(_str(spec.get("data")))
    count = math.prod(shape)
    carrier = torch.int16 if dtype == torch.bfloat16 else dtype
    if count * torch.empty(0, dtype=carrier).element_size() != len(raw):
        raise WireError("a tensor's data does not match its shape")
    t = torch.frombuffer(bytearray(raw), dtype=carrier).clone() if raw else torch.empty(0, dtype=carrier)
    t = t.view(torch.bfloat16) if dtype == torch.bfloat16 else t
    t = t.reshape(shape)
    return t.requires_grad_() if spec.get("requires_grad") is True and t.is_floating_point() else t


def dumps(obj):
    return json.dumps(obj, allow_nan=False).encode()


def loads(body):
    try:
        return json.loads(body.decode())
    except (UnicodeDecodeError, ValueError) as err:
        raise WireError(f"a reply is not valid JSON ({err})") from None
