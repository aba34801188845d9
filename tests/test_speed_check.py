"""A Python-loop solution fails the CPU speed check, and the message says why.

The gap is two orders of magnitude against a budget of 5x, so the verdict does not depend
on the machine's speed; the figures themselves belong to benchmarks/, not here."""
import shutil

import pytest

from autograder.grading import grade

pytestmark = pytest.mark.slow

LOOPED_DISTANCES = '''

def pairwise_distances(x, y):
    out = torch.zeros(x.shape[0], y.shape[0], dtype=x.dtype, device=x.device)
    for i in range(x.shape[0]):
        for j in range(y.shape[0]):
            out[i, j] = ((x[i] - y[j]) ** 2).sum().sqrt()
    return out
'''


def test_a_python_loop_fails_the_speed_check_with_a_reason(tmp_path, kit_root):
    tree = tmp_path / "looped"
    shutil.copytree(kit_root / "reference" / "01_tensors", tree / "01_tensors")
    path = tree / "01_tensors" / "tensors.py"
    path.write_text(path.read_text() + LOOPED_DISTANCES)
    report = grade("01_tensors", tree, checks=["distances_f32", "distances_speed_cpu"])
    correct, speed = report.results
    assert correct.status == "passed"  # right numbers...
    assert speed.status == "failed" and speed.points == 0  # ...far too slowly
    assert "x the reference time" in speed.reason
    assert "Python loop over pairs of points" in speed.feedback


LOOPED_BATCH_AUGMENT = '''

def batch_augment(images, generator, padding=4, p=0.5):
    count, channels, height, width = images.shape
    tops = torch.randint(0, 2 * padding + 1, (count,), generator=generator)
    lefts = torch.randint(0, 2 * padding + 1, (count,), generator=generator)
    flips = torch.rand(count, generator=generator) < p
    out = torch.empty_like(images)
    for b in range(count):
        padded = F.pad(images[b], (padding, padding, padding, padding))
        crop = padded[:, int(tops[b]):int(tops[b]) + height, int(lefts[b]):int(lefts[b]) + width]
        out[b] = crop.flip(-1) if flips[b] else crop
    return out
'''


def test_a_loop_over_the_batch_fails_the_augmentation_speed_check(tmp_path, kit_root):
    tree = tmp_path / "looped"
    shutil.copytree(kit_root / "reference" / "05_transforms", tree / "05_transforms")
    path = tree / "05_transforms" / "transforms.py"
    path.write_text(path.read_text() + LOOPED_BATCH_AUGMENT)
    report = grade("05_transforms", tree, checks=["batch_augment", "batch_augment_speed_cpu"])
    correct, speed = report.results
    assert correct.status == "passed"
    assert speed.status == "failed" and speed.points == 0
    assert "Python loop over the images of the batch" in speed.feedback
