"""The data-only wire format between the grader and a worker.

A message is a frame: an 8-byte big-endian length, then that many bytes.
Requests and response headers are JSON. A result travels as its own frame,
written by ``torch.save`` and read back with ``torch.load(weights_only=True)``,
which rebuilds only tensors and plain containers: nothing the student defined
is ever unpickled on the grading side.

Before saving, ``to_plain_data`` turns a scenario's result into plain data:
tensors become detached plain ``torch.Tensor`` copies (a subclass or a
Parameter loses its class), and any other object becomes an opaque marker that
names its type, so a comparison can say "expected a Tensor, got a Foo".
"""
import io
import json
import struct
import warnings

import torch

OPAQUE_KEY = "__opaque_type__"
_LENGTH = struct.Struct(">Q")
MAX_FRAME = 512 << 20  # a result larger than this is not read (it would be in memory)


class WireError(Exception):
    """The other side sent something that is not a valid frame."""


def write_frame(stream, payload: bytes):
    stream.write(_LENGTH.pack(len(payload)))
    stream.write(payload)
    stream.flush()


def read_frame(stream):
    """Read one frame; return None at a clean end of stream."""
    head = _read_exactly(stream, _LENGTH.size)
    if head is None:
        return None
    (length,) = _LENGTH.unpack(head)
    if length > MAX_FRAME:
        raise WireError(f"frame of {length} bytes is larger than the limit")
    body = _read_exactly(stream, length)
    if body is None:
        raise WireError("stream ended in the middle of a frame")
    return body


def _read_exactly(stream, size):
    chunks, remaining = [], size
    while remaining:
        chunk = stream.read(remaining)
        if not chunk:
            if remaining == size:
                return None
            raise WireError("stream ended in the middle of a frame")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def encode_json(obj) -> bytes:
    return json.dumps(obj).encode("utf-8")


def decode_json(payload: bytes):
    try:
        return json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise WireError(f"invalid JSON frame: {error}") from None


def to_plain_data(value, _depth=0):
    """Copy ``value`` into plain data that ``torch.load(weights_only=True)`` accepts."""
    if _depth > 50:
        return {OPAQUE_KEY: "a structure nested too deeply"}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, torch.Tensor):
        return _plain_tensor(value)
    if isinstance(value, (list, tuple)):
        items = [to_plain_data(v, _depth + 1) for v in value]
        return items if isinstance(value, list) else tuple(items)
    if isinstance(value, dict) and all(isinstance(k, (str, int)) for k in value):
        return {k: to_plain_data(v, _depth + 1) for k, v in value.items()}
    return {OPAQUE_KEY: f"{type(value).__module__}.{type(value).__qualname__}"}


def _plain_tensor(t):
    plain = t.detach()
    if type(plain) is not torch.Tensor:
        plain = plain.as_subclass(torch.Tensor)
    if plain.is_sparse or plain.layout != torch.strided:
        plain = plain.to_dense()
    return plain.clone(memory_format=torch.contiguous_format)


def encode_data(value) -> bytes:
    buffer = io.BytesIO()
    torch.save(to_plain_data(value), buffer)
    return buffer.getvalue()


def decode_data(payload: bytes):
    """Rebuild a result with the restricted, data-only unpickler."""
    try:
        with warnings.catch_warnings():  # torch's remarks on a hostile pickle are not ours
            warnings.simplefilter("ignore")
            return torch.load(io.BytesIO(payload), weights_only=True)
    except Exception as error:  # any failure here means the bytes are not plain data
        raise WireError(f"result is not plain data: {type(error).__name__}: {error}") from None
