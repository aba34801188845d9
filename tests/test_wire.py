"""The wire format: plain data only, frames that survive partial reads, no unpickling of code."""
import io
import os
import pickle
import zipfile

import pytest
import torch

from autograder.wire import (MAX_FRAME, OPAQUE_KEY, WireError, _LENGTH, decode_data,
                             decode_json, encode_data, encode_json, read_frame, to_plain_data,
                             write_frame)


class Gadget:
    class Part:
        pass


class TaggedTensor(torch.Tensor):
    pass


def assert_same_data(a, b):
    """Deep equality that also insists on identical container and tensor types."""
    assert type(a) is type(b), (type(a), type(b))
    if isinstance(a, torch.Tensor):
        assert a.dtype == b.dtype and a.shape == b.shape and a.device == b.device
        assert torch.equal(a, b) or (a.is_floating_point()
                                     and torch.equal(torch.isnan(a), torch.isnan(b))
                                     and torch.equal(a.nan_to_num(0.0), b.nan_to_num(0.0)))
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for key in a:
            assert_same_data(a[key], b[key])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same_data(x, y)
    else:
        assert a == b


# --------------------------------------------------------------------------- to_plain_data


def test_parameter_becomes_a_plain_detached_tensor():
    param = torch.nn.Parameter(torch.tensor([1.0, 2.0]))
    plain = to_plain_data(param)
    assert type(plain) is torch.Tensor
    assert not plain.requires_grad
    assert plain.grad_fn is None
    assert torch.equal(plain, param.detach())


def test_tensor_subclass_loses_its_class():
    tagged = torch.arange(4.0).as_subclass(TaggedTensor)
    assert type(tagged) is TaggedTensor
    plain = to_plain_data(tagged)
    assert type(plain) is torch.Tensor
    assert torch.equal(plain, torch.arange(4.0))


def test_tensor_in_a_graph_is_detached():
    x = torch.ones(3, requires_grad=True)
    y = x * 2
    plain = to_plain_data({"y": y})["y"]
    assert type(plain) is torch.Tensor
    assert not plain.requires_grad and plain.grad_fn is None
    assert torch.equal(plain, torch.full((3,), 2.0))


def test_tensors_are_copied_not_shared():
    original = torch.zeros(3)
    plain = to_plain_data(original)
    original[0] = 5.0
    assert plain[0].item() == 0.0


def test_non_contiguous_tensor_becomes_a_contiguous_copy_with_the_same_values():
    base = torch.arange(12.0).reshape(3, 4)
    view = base.t()[1:, ::2]
    assert not view.is_contiguous()
    plain = to_plain_data(view)
    assert plain.is_contiguous()
    assert plain.shape == view.shape
    assert torch.equal(plain, view)
    # the storage holds only the view's elements, not the whole base
    assert plain.untyped_storage().nbytes() == view.numel() * view.element_size()


def test_sparse_tensor_becomes_dense():
    sparse = torch.eye(3).to_sparse()
    plain = to_plain_data(sparse)
    assert plain.layout == torch.strided
    assert torch.equal(plain, torch.eye(3))


def test_containers_keep_their_kind():
    value = {"a": [1, (2.0, "x")], "b": (None, [True]), 3: {"c": []}}
    plain = to_plain_data(value)
    assert type(plain) is dict and type(plain["a"]) is list
    assert type(plain["a"][1]) is tuple and type(plain["b"]) is tuple
    assert type(plain["b"][1]) is list and type(plain[3]) is dict
    assert plain == value


def test_scalars_pass_through():
    for value in (None, True, 0, -7, 2.5, float("inf"), "text"):
        assert to_plain_data(value) is value


def test_unknown_object_becomes_an_opaque_marker_naming_its_type():
    marker = to_plain_data(Gadget())
    assert marker == {OPAQUE_KEY: f"{Gadget.__module__}.Gadget"}
    nested = to_plain_data([Gadget.Part()])
    assert nested == [{OPAQUE_KEY: f"{Gadget.__module__}.Gadget.Part"}]


@pytest.mark.parametrize("value, name", [
    ({1, 2}, "builtins.set"),
    (b"bytes", "builtins.bytes"),
    ({(1, 2): "tuple key"}, "builtins.dict"),
    (torch.nn.Linear(2, 2), "torch.nn.modules.linear.Linear"),
    (torch.float32, "torch.dtype"),
])
def test_other_values_become_opaque_markers(value, name):
    assert to_plain_data(value) == {OPAQUE_KEY: name}


def test_deeply_nested_structures_are_cut_off():
    value = 1
    for _ in range(60):
        value = [value]
    plain = to_plain_data(value)
    depth = 0
    while isinstance(plain, list):
        plain, depth = plain[0], depth + 1
    assert depth == 51
    assert set(plain) == {OPAQUE_KEY}
    encode_data(value)  # and it still travels


# --------------------------------------------------------------------------- encode / decode


def test_round_trip_of_nested_structures_with_several_dtypes():
    value = {
        "f32": torch.randn(3, 4, generator=torch.Generator().manual_seed(0)),
        "f64": torch.tensor([1.0, float("nan"), -float("inf")], dtype=torch.float64),
        "f16": torch.tensor([0.5, 1.5], dtype=torch.float16),
        "bf16": torch.tensor([[1.0, -2.0]], dtype=torch.bfloat16),
        "i64": torch.tensor([2 ** 40, -3], dtype=torch.int64),
        "i32": torch.arange(5, dtype=torch.int32),
        "u8": torch.tensor([0, 255], dtype=torch.uint8),
        "bool": torch.tensor([True, False, True]),
        "c64": torch.tensor([1 + 2j], dtype=torch.complex64),
        "scalar": torch.tensor(3.25),
        "empty": torch.zeros(0),
        "empty_2d": torch.empty(0, 5, dtype=torch.int64),
        "empty_bool": torch.zeros(2, 0, dtype=torch.bool),
        "steps": [(0, torch.ones(2)), (1, torch.zeros(2))],
        "meta": {"name": "adam", "lr": 1e-3, "ok": True, "nothing": None, "count": 7},
        "opaque": {OPAQUE_KEY: "foo.Bar"},
    }
    decoded = decode_data(encode_data(value))
    assert_same_data(value, decoded)


def test_round_trip_of_bare_values():
    for value in (None, 3, "x", [], (), {}, torch.tensor(True), [torch.zeros(0, dtype=torch.bool)]):
        assert_same_data(value, decode_data(encode_data(value)))


def test_round_trip_makes_parameters_and_views_plain():
    base = torch.arange(6.0).reshape(2, 3)
    value = [torch.nn.Parameter(torch.ones(2)), base.t(), Gadget()]
    decoded = decode_data(encode_data(value))
    assert type(decoded[0]) is torch.Tensor and not decoded[0].requires_grad
    assert torch.equal(decoded[1], base.t())
    assert decoded[2] == {OPAQUE_KEY: f"{Gadget.__module__}.Gadget"}


def test_decoded_views_share_no_storage_with_unrelated_data():
    # two views of one base are saved as independent copies
    base = torch.arange(10.0)
    decoded = decode_data(encode_data([base[:2], base[5:]]))
    decoded[0][0] = 99.0
    assert decoded[1][0].item() == 5.0


class Payload:
    """Unpickling this runs a shell command."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (os.system, (f"echo pwned > {self.target}",))


def _via_torch_save(target):
    buffer = io.BytesIO()
    torch.save({"result": Payload(target)}, buffer)
    return buffer.getvalue()


def _via_zip_archive(target):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("archive/data.pkl", pickle.dumps(Payload(target), protocol=2))
        archive.writestr("archive/byteorder", "little")
        archive.writestr("archive/version", "3\n")
    return buffer.getvalue()


def _via_raw_pickle(target):
    return pickle.dumps(Payload(target), protocol=2)


BUILDERS = [_via_torch_save, _via_zip_archive, _via_raw_pickle]


@pytest.mark.parametrize("build", BUILDERS, ids=lambda b: b.__name__)
def test_decode_refuses_a_malicious_pickle(tmp_path, build):
    target = tmp_path / "pwned.txt"
    payload = build(target)
    with pytest.raises(WireError, match="not plain data"):
        decode_data(payload)
    assert not target.exists()


@pytest.mark.parametrize("build", [_via_torch_save, _via_zip_archive], ids=lambda b: b.__name__)
def test_the_malicious_payload_is_live_when_loaded_unsafely(tmp_path, build):
    # control: the same bytes do run the command under a full unpickler,
    # so the refusal above is what keeps the grading side safe
    target = tmp_path / "pwned.txt"
    torch.load(io.BytesIO(build(target)), weights_only=False)
    assert target.read_text().strip() == "pwned"


@pytest.mark.parametrize("payload", [b"", b"not a pickle", b"PK\x03\x04garbage"])
def test_decode_of_garbage_raises_wire_error(payload):
    with pytest.raises(WireError):
        decode_data(payload)


# --------------------------------------------------------------------------- frames


def test_frames_round_trip_and_end_cleanly():
    stream = io.BytesIO()
    payloads = [b"hello", b"", encode_json({"op": "run", "n": 3}), bytes(range(256)) * 100]
    for payload in payloads:
        write_frame(stream, payload)
    assert len(stream.getvalue()) == sum(_LENGTH.size + len(p) for p in payloads)
    assert stream.getvalue()[:_LENGTH.size] == (5).to_bytes(8, "big")
    stream.seek(0)
    assert [read_frame(stream) for _ in payloads] == payloads
    assert read_frame(stream) is None
    assert read_frame(stream) is None


def test_empty_stream_is_a_clean_end():
    assert read_frame(io.BytesIO(b"")) is None


class Trickle(io.RawIOBase):
    """A stream that hands out one byte per read, like a slow pipe."""

    def __init__(self, data):
        self.data = memoryview(data)
        self.position = 0

    def readable(self):
        return True

    def read(self, size=-1):
        chunk = bytes(self.data[self.position:self.position + min(size, 1)])
        self.position += len(chunk)
        return chunk


def test_frames_survive_short_reads():
    stream = io.BytesIO()
    write_frame(stream, b"first frame")
    write_frame(stream, b"second")
    trickle = Trickle(stream.getvalue())
    assert read_frame(trickle) == b"first frame"
    assert read_frame(trickle) == b"second"
    assert read_frame(trickle) is None


def test_truncated_body_raises_wire_error():
    stream = io.BytesIO()
    write_frame(stream, b"0123456789")
    with pytest.raises(WireError, match="middle of a frame"):
        read_frame(io.BytesIO(stream.getvalue()[:-3]))


def test_truncated_length_header_raises_wire_error():
    with pytest.raises(WireError, match="middle of a frame"):
        read_frame(io.BytesIO(b"\x00\x00\x00"))


def test_header_without_body_raises_wire_error():
    with pytest.raises(WireError):
        read_frame(io.BytesIO(_LENGTH.pack(4)))


def test_oversized_frame_is_refused_before_reading_it():
    stream = io.BytesIO(_LENGTH.pack(MAX_FRAME + 1) + b"x" * 16)
    with pytest.raises(WireError, match="larger than the limit"):
        read_frame(stream)


def test_json_round_trip_and_invalid_json():
    message = {"op": "run", "args": [1, 2.5, None, "ü"]}
    assert decode_json(encode_json(message)) == message
    with pytest.raises(WireError, match="invalid JSON"):
        decode_json(b"{not json")
    with pytest.raises(WireError, match="invalid JSON"):
        decode_json(b"\xff\xfe")
