"""The boundary: only plain data crosses between learner code and the checks.

Plain data is None, bool, int, float, complex, str, bytes, torch.dtype, torch.device,
torch.Size, plain `torch.Tensor`s, and lists, tuples and dicts of them. Everything crosses
as bytes written by `torch.save` and read back by `torch.load(weights_only=True)`, which
refuses to rebuild arbitrary objects: a tensor subclass with a lying `__eq__`, or any
other object with behaviour, cannot reach the process that computes the verdict.

An object that is not plain (an `nn.Module` the learner built, a generator, a tensor
subclass) does not cross: it stays where learner code runs and a `HandleRef` crosses in
its place. The test side wraps that ref in a handle whose calls and attribute reads are
again answered in plain data.
"""

from __future__ import annotations

import io
from collections import OrderedDict
from dataclasses import dataclass

import torch

_ATOMS = (type(None), bool, int, float, complex, str, bytes, torch.dtype, torch.device, torch.Size)
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


def flatten(value, to_ref=None):
    """Return a plain copy of `value`, ready for `torch.save`.

    Objects that are not plain are passed to `to_ref`, which returns a HandleRef; without
    `to_ref` they raise BoundaryError. Containers are rebuilt with exact builtin types, so a
    list subclass or a dict with custom behaviour crosses as a plain list or dict.
    """
    t = type(value)
    if t in _ATOMS:
        return value
    if t is torch.Tensor or t is torch.nn.Parameter:
        return value.detach()  # cut from any autograd graph: graphs never cross
    if t is list:
        return [flatten(v, to_ref) for v in value]
    if t is tuple:
        return tuple(flatten(v, to_ref) for v in value)
    if (t is dict or t is OrderedDict) and all(type(k) in (str, int) for k in value) and _HANDLE_KEY not in value:
        return {k: flatten(v, to_ref) for k, v in value.items()}
    if t is HandleRef and to_ref is None:
        return {_HANDLE_KEY: value.id, "type": value.type_name, "mro": list(value.bases), "text": value.text}
    if to_ref is None:
        raise BoundaryError(f"{t.__qualname__} is not plain data and cannot cross the boundary")
    ref = to_ref(value)
    return {_HANDLE_KEY: ref.id, "type": ref.type_name, "mro": list(ref.bases), "text": ref.text}


def _revive(value):
    if type(value) is dict:
        if _HANDLE_KEY in value:
            return HandleRef(value[_HANDLE_KEY], value["type"], tuple(value["mro"]), value["text"])
        return {k: _revive(v) for k, v in value.items()}
    if type(value) is list:
        return [_revive(v) for v in value]
    if type(value) is tuple:
        return tuple(_revive(v) for v in value)
    return value


def dumps(value, to_ref=None) -> bytes:
    buffer = io.BytesIO()
    torch.save(flatten(value, to_ref), buffer)
    return buffer.getvalue()


def loads(data: bytes):
    """Read plain data back; anything else is refused by torch's weights-only unpickler."""
    return _revive(torch.load(io.BytesIO(data), weights_only=True))


def cross(value, to_ref=None):
    """What the other side sees of `value`: a full round trip through the wire format."""
    return loads(dumps(value, to_ref))
