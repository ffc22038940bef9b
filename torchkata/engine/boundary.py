"""The boundary: only plain data crosses between learner code and the checks.

Plain data is None, bool, int, float, complex, str, bytes, torch.dtype, torch.device,
torch.Size, plain `torch.Tensor`s, and lists, tuples and dicts of them. Everything crosses as
bytes in a small format of our own (a JSON header, then the tensors' raw bytes) whose
reader can build nothing else: a tensor subclass with a lying `__eq__`, a pickled
object, or anything with behaviour cannot reach the process that computes the verdict.

An object that is not plain (an `nn.Module` the learner built, a generator, a tensor
subclass) does not cross: it stays where learner code runs and a `HandleRef` crosses in
its place. The test side wraps that ref in a handle whose calls and attribute reads are
again answered in plain data.
"""

from __future__ import annotations

import json
import math
import numbers
import struct
from collections import OrderedDict
from dataclasses import dataclass

import torch

from ..core.i18n import _

_HANDLE_KEY = "__torchkata_handle__"


class BoundaryError(TypeError):
    """Something that is not plain data was about to cross the boundary."""


@dataclass(frozen=True)
class HandleRef:
    """Stands for an object that stayed on the learner's side."""

    id: int
    type_name: str
    bases: tuple[str, ...]  # the names in its class MRO
    text: str


# -- the wire format ----------------------------------------------------------------------------
# 8 bytes (the header's length), a JSON header describing the value, then the raw bytes of
# its tensors. Reading it builds nothing but plain data: JSON's own types, and tensors made
# from raw bytes with a dtype from a fixed list. (torch.load(weights_only=True) is as safe,
# but writing and reading a message with it costs ~0.6 ms, against ~0.05 ms here, and a
# student's grading sends about a thousand.)
_DTYPES = {str(d).removeprefix("torch."): d for d in (
    torch.float64, torch.float32, torch.float16, torch.bfloat16, torch.complex128, torch.complex64,
    torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8, torch.bool)}
_DTYPE_NAMES = {d: name for name, d in _DTYPES.items()}
_HEADER = struct.Struct("<Q")


def _tensor_bytes(tensor: torch.Tensor) -> bytes:
    flat = tensor.detach().resolve_conj().resolve_neg().cpu().contiguous().reshape(-1)
    return flat.view(torch.uint8).numpy().tobytes() if flat.numel() else b""


def _encode(value, to_ref, chunks: list[bytes], offset: list[int]):
    """The JSON node for `value`; the bytes of its tensors are appended to `chunks`.

    Only exact builtin and torch types are plain (and NumPy's numbers, as the Python number
    they hold): a list or dict subclass, a tensor subclass, or any other object is passed to `to_ref`, which returns a HandleRef (the
    object stays behind); without `to_ref` it raises BoundaryError. Tensors and Parameters
    cross as plain tensors, cut from any autograd graph.
    """
    t = type(value)
    if value is None or t in (bool, int, float, str):
        return value
    if t.__module__ == "numpy" and isinstance(value, numbers.Number):
        # A NumPy scalar (np.sqrt(2.0), np.prod(shape)) is a number: it crosses as the Python
        # number .item() gives, never as itself, so no method of it runs on the other side.
        plain = value.item()
        if type(plain) in (int, float, complex):
            return _encode(plain, to_ref, chunks, offset)
    if t is list:
        return [_encode(v, to_ref, chunks, offset) for v in value]
    if t is tuple:
        return {"$": "tuple", "items": [_encode(v, to_ref, chunks, offset) for v in value]}
    if (t is dict or t is OrderedDict) and all(type(k) in (str, int) for k in value) and _HANDLE_KEY not in value:
        return {"$": "dict", "items": [[k, _encode(v, to_ref, chunks, offset)] for k, v in value.items()]}
    if t is complex:
        return {"$": "complex", "re": value.real, "im": value.imag}
    if t is torch.dtype:
        return {"$": "dtype", "name": str(value).removeprefix("torch.")}
    if t is torch.device:
        return {"$": "device", "name": str(value)}
    if t is torch.Size:
        return {"$": "size", "dims": list(value)}
    if t is bytes:
        return {"$": "bytes", **_append(value, chunks, offset)}
    if t is torch.Tensor or t is torch.nn.Parameter:
        if value.layout != torch.strided or value.dtype not in _DTYPE_NAMES:
            # Learner code returned it (a sparse tensor, say): said in the learner's language.
            raise BoundaryError(_("a {layout} tensor of {dtype} cannot cross the boundary", layout=value.layout,
                                  dtype=value.dtype))
        data = b"" if value.device.type == "meta" else _tensor_bytes(value)
        return {"$": "tensor", "dtype": _DTYPE_NAMES[value.dtype], "shape": list(value.shape),
                "device": str(value.device), **_append(data, chunks, offset)}
    if to_ref is not None:  # even a HandleRef made by learner code stays behind: handles are not forged
        value = to_ref(value)
    elif t is not HandleRef:
        raise BoundaryError(f"{t.__qualname__} is not plain data and cannot cross the boundary")
    return {"$": "handle", "id": value.id, "type": value.type_name, "mro": list(value.bases), "text": value.text}


def _append(data: bytes, chunks: list[bytes], offset: list[int]) -> dict:
    chunks.append(data)
    where = {"offset": offset[0], "nbytes": len(data)}
    offset[0] += len(data)
    return where


def _decode(node, payload: bytearray):
    if type(node) is list:
        return [_decode(v, payload) for v in node]
    if type(node) is not dict:
        return node
    kind = node.get("$")
    if kind == "tuple":
        return tuple(_decode(v, payload) for v in node["items"])
    if kind == "dict":
        return {k: _decode(v, payload) for k, v in node["items"] if type(k) in (str, int)}
    if kind == "complex":
        return complex(node["re"], node["im"])
    if kind == "dtype":
        return _DTYPES[node["name"]]
    if kind == "device":
        return torch.device(node["name"])
    if kind == "size":
        return torch.Size(int(d) for d in node["dims"])
    if kind == "handle":
        return HandleRef(int(node["id"]), str(node["type"]), tuple(map(str, node["mro"])), str(node["text"]))
    if kind in ("bytes", "tensor"):
        start, size = int(node["offset"]), int(node["nbytes"])
        if not 0 <= start <= start + size <= len(payload):
            raise BoundaryError("a message points outside its own data")
        if kind == "bytes":
            return bytes(payload[start:start + size])
        dtype, shape, device = _DTYPES[node["dtype"]], [int(d) for d in node["shape"]], torch.device(node["device"])
        if device.type == "meta" or math.prod(shape) == 0:
            return torch.empty(shape, dtype=dtype, device=device)
        if size != math.prod(shape) * dtype.itemsize:
            raise BoundaryError("a tensor's data does not match its shape")
        flat = torch.frombuffer(payload, dtype=torch.uint8, count=size, offset=start).view(dtype)
        return flat.reshape(shape).to(device)
    raise BoundaryError(f"unknown entry in a message: {kind!r}")


def dumps(value, to_ref=None) -> bytes:
    chunks: list[bytes] = []
    header = json.dumps(_encode(value, to_ref, chunks, [0])).encode()
    return b"".join([_HEADER.pack(len(header)), header, *chunks])


def loads(data: bytes):
    """Read plain data back. Anything that is not a well-formed message is refused."""
    try:
        (length,) = _HEADER.unpack_from(data)
        tree = json.loads(bytes(data[_HEADER.size:_HEADER.size + length]))
        return _decode(tree, bytearray(data[_HEADER.size + length:]))
    except BoundaryError:
        raise
    except (ValueError, TypeError, KeyError, RecursionError, struct.error, RuntimeError) as error:
        raise BoundaryError(f"not a well-formed message: {type(error).__name__}: {error}") from None


def cross(value, to_ref=None):
    """What the other side sees of `value`: a full round trip through the wire format."""
    return loads(dumps(value, to_ref))
