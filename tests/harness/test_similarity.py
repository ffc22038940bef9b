"""Near-identical code between students (torchkata/classroom/similarity.py): copies are listed
whatever they renamed; honest students, untouched stubs and short canonical answers are not."""

import os
import subprocess
import sys
from pathlib import Path

from torchkata.classroom.similarity import SimilarPair, similar_pairs
from torchkata.core.source import definition_text

ROOT = Path(__file__).resolve().parents[2]

CROSS_ENTROPY = "losses.cross_entropy"
DROPOUT = "regularization.dropout"  # before losses in the course, after it alphabetically
SOFTMAX = "activations.softmax"
BUILD_SEQUENTIAL = "networks.build_sequential"
RELU = "activations.relu"

STUBS = {
    CROSS_ENTROPY: '''
def cross_entropy(logits: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Multi-class cross entropy from raw logits of shape (N, C).

    target is either class indices (N,) or class probabilities (N, C).
    """
    raise NotImplementedError("cross_entropy: replace this line with your code")
''',
    DROPOUT: '''
def dropout(x: torch.Tensor, p: float = 0.5, training: bool = True) -> torch.Tensor:
    """Zero each element of x with probability p, scale the others by 1 / (1 - p)."""
    raise NotImplementedError("dropout: replace this line with your code")
''',
    SOFTMAX: '''
def softmax(x: torch.Tensor, dim: int) -> torch.Tensor:
    """Softmax along `dim`: e^(x_i) / sum_j e^(x_j). Pitfall: e^1000 overflows."""
    raise NotImplementedError("softmax: replace this line with your code")
''',
    BUILD_SEQUENTIAL: '''
def build_sequential(device=None) -> nn.Sequential:
    """The same network as Model, as an nn.Sequential, initialised with init_params."""
    raise NotImplementedError("build_sequential: replace this line with your code")
''',
    RELU: '''
def relu(x: torch.Tensor) -> torch.Tensor:
    """The rectified linear unit, max(0, x), elementwise."""
    raise NotImplementedError("relu: replace this line with your code")
''',
}

ALICE = {
    CROSS_ENTROPY: '''
def cross_entropy(logits: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Cross entropy from raw logits."""
    if logits.dim() != 2:
        raise ValueError(f"logits must be (N, C), got {tuple(logits.shape)}")
    shifted = logits - logits.max(dim=1, keepdim=True).values
    log_probs = shifted - shifted.exp().sum(dim=1, keepdim=True).log()
    if target.dtype.is_floating_point:
        if target.shape != logits.shape:
            raise ValueError(f"target {tuple(target.shape)} does not fit logits {tuple(logits.shape)}")
        per_row = -(target * log_probs).sum(dim=1)
    else:
        per_row = -log_probs.gather(1, target.unsqueeze(1)).squeeze(1)
    if reduction == "mean":
        return per_row.mean()
    if reduction == "sum":
        return per_row.sum()
    if reduction == "none":
        return per_row
    raise ValueError(f"unknown reduction {reduction!r}")
''',
    DROPOUT: '''
def dropout(x: torch.Tensor, p: float = 0.5, training: bool = True) -> torch.Tensor:
    """Inverted dropout."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability p has to be between 0 and 1, but got {p}")
    if not x.is_floating_point():
        raise TypeError("dropout needs a floating point tensor: torch.randint gives integers")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return torch.zeros_like(x)
    keep = (torch.rand_like(x) >= p).to(x.dtype)
    return x * keep / (1.0 - p)
''',
}

# Alice's code with every name renamed, comments added, the docstrings rewritten and blank lines put in.
BOB = {
    CROSS_ENTROPY: '''
def cross_entropy(z: torch.Tensor, y: torch.Tensor, how: str = "mean") -> torch.Tensor:
    """My own cross entropy: log-softmax, then pick the target's entry."""
    # only 2-D logits make sense here
    if z.dim() != 2:
        raise ValueError(f"logits must be (N, C), got {tuple(z.shape)}")

    centred = z - z.max(dim=1, keepdim=True).values  # stability trick
    lp = centred - centred.exp().sum(dim=1, keepdim=True).log()

    if y.dtype.is_floating_point:  # soft labels
        if y.shape != z.shape:
            raise ValueError(f"target {tuple(y.shape)} does not fit logits {tuple(z.shape)}")
        losses = -(y * lp).sum(dim=1)
    else:
        losses = -lp.gather(1, y.unsqueeze(1)).squeeze(1)

    if how == "mean":
        return losses.mean()
    if how == "sum":
        return losses.sum()
    if how == "none":
        return losses
    raise ValueError(f"unknown reduction {how!r}")
''',
    DROPOUT: '''
def dropout(inp: torch.Tensor, prob: float = 0.5, train: bool = True) -> torch.Tensor:
    # check the probability first

    if not 0.0 <= prob <= 1.0:
        raise ValueError(f"dropout probability p has to be between 0 and 1, but got {prob}")
    if not inp.is_floating_point():
        raise TypeError("dropout needs a floating point tensor: torch.randint gives integers")

    if not train or prob == 0.0:
        return inp
    if prob == 1.0:
        return torch.zeros_like(inp)  # everything dropped
    mask = (torch.rand_like(inp) >= prob).to(inp.dtype)
    return inp * mask / (1.0 - prob)
''',
}

# Two honest, independent answers to each of three exercises: the same task, written differently.
HONEST = {
    CROSS_ENTROPY: (ALICE[CROSS_ENTROPY], '''
def cross_entropy(logits: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    n_rows, n_classes = logits.shape
    log_norm = torch.logsumexp(logits, dim=1)
    if torch.is_floating_point(target):
        if tuple(target.shape) != (n_rows, n_classes):
            raise ValueError("probabilities of shape %s do not fit logits of shape %s"
                             % (tuple(target.shape), (n_rows, n_classes)))
        losses = log_norm - (target * logits).sum(dim=1)  # the probabilities of a row sum to 1
    else:
        losses = log_norm - logits[torch.arange(n_rows), target]
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    if reduction == "none":
        return losses
    raise ValueError("reduction must be 'mean', 'sum' or 'none', not " + repr(reduction))
'''),
    SOFTMAX: ('''
def softmax(x: torch.Tensor, dim: int) -> torch.Tensor:
    shifted = x - x.max(dim=dim, keepdim=True).values
    exps = shifted.exp()
    return exps / exps.sum(dim=dim, keepdim=True)
''', '''
def softmax(x: torch.Tensor, dim: int) -> torch.Tensor:
    log_total = torch.logsumexp(x, dim, keepdim=True)  # stable: logsumexp subtracts the max itself
    return torch.exp(x - log_total)
'''),
    # The course's own Sequential, as the reference writes it, and a loop that builds the same.
    BUILD_SEQUENTIAL: (definition_text((ROOT / "solutions" / "networks.py").read_text(encoding="utf-8"),
                                       "build_sequential"), '''
def build_sequential(device=None) -> nn.Sequential:
    sizes = [3, 4, 4, 2]
    activations = [nn.Tanh(), nn.ReLU(), nn.Softmax(dim=1)]
    layers = []
    for (fan_in, fan_out), activation in zip(zip(sizes, sizes[1:]), activations):
        layer = nn.Linear(fan_in, fan_out, device=device)
        init_params(layer)
        layers += [layer, activation]
    return nn.Sequential(*layers)
'''),
}


def test_a_copy_with_every_name_renamed_is_listed_with_its_exercises_in_course_order():
    pairs = similar_pairs({"alice": ALICE, "bob": BOB}, STUBS)

    assert [(p.first, p.second) for p in pairs] == [("alice", "bob")]
    assert pairs[0].share == 1.0  # nothing Bob changed (names, comments, docstrings, blank lines) is seen
    assert pairs[0].exercises == (DROPOUT, CROSS_ENTROPY)


def test_a_copy_padded_with_code_of_its_own_is_listed():
    # Shared fingerprints are counted against the smaller side: padding the copy does not dilute it.
    padding = """    if x.dim() == 0:
        raise ValueError("dropout of a 0-dim tensor: give it at least one dimension, e.g. x.unsqueeze(0)")
    if x.requires_grad and not torch.is_grad_enabled():
        warnings.warn("dropout under no_grad: the mask will not be part of the graph")
    x = x.contiguous()
"""
    padded = ALICE[DROPOUT].replace("    if not training or p == 0.0:", padding + "    if not training or p == 0.0:")

    (pair,) = similar_pairs({"alice": ALICE, "ann": {DROPOUT: padded}}, STUBS)

    assert (pair.first, pair.second, pair.exercises) == ("alice", "ann", (DROPOUT,))
    assert pair.share >= 0.8  # not 1.0: where the padding went in, Alice's own k-grams were cut


def test_a_copy_of_one_exercise_is_listed_for_that_exercise_only():
    bob = {DROPOUT: BOB[DROPOUT], CROSS_ENTROPY: HONEST[CROSS_ENTROPY][1]}

    (pair,) = similar_pairs({"alice": ALICE, "bob": bob}, STUBS)

    assert pair.exercises == (DROPOUT,)


def test_honest_independent_answers_to_the_same_exercise_are_not_listed():
    code = {"erin": {e: first for e, (first, _) in HONEST.items()},
            "frank": {e: second for e, (_, second) in HONEST.items()}}

    assert similar_pairs(code, STUBS) == []


def test_untouched_stubs_are_not_listed():
    code = {student: dict(STUBS) for student in ("gina", "hugo", "ines")}

    assert similar_pairs(code, STUBS) == []


def test_the_same_short_one_liner_is_not_listed():
    # Many honest students write the canonical line: it is too short to be evidence.
    one_liner = STUBS[RELU].replace('raise NotImplementedError("relu: replace this line with your code")',
                                    "return torch.clamp(x, min=0)")
    renamed = one_liner.replace("(x", "(t").replace("x,", "t,")
    assert "clamp(t, min=0)" in renamed

    assert similar_pairs({"jon": {RELU: one_liner}, "kim": {RELU: renamed}}, STUBS) == []


def test_a_passage_most_of_the_class_wrote_is_not_evidence_but_a_copy_among_them_still_is():
    # The canonical Sequential, written alike by most of a class of twelve (each naming the
    # model their own way), is how the course is solved; Alice's and Bob's cross entropy is theirs.
    canonical = HONEST[BUILD_SEQUENTIAL][0]
    code = {f"s{i:02}": {BUILD_SEQUENTIAL: canonical.replace("model", f"net{i}")} for i in range(9)}
    code.update({"alice": {BUILD_SEQUENTIAL: canonical, CROSS_ENTROPY: ALICE[CROSS_ENTROPY]},
                 "bob": {BUILD_SEQUENTIAL: HONEST[BUILD_SEQUENTIAL][1], CROSS_ENTROPY: BOB[CROSS_ENTROPY]},
                 "carl": {BUILD_SEQUENTIAL: STUBS[BUILD_SEQUENTIAL]}})

    assert similar_pairs(code, STUBS) == [SimilarPair("alice", "bob", 1.0, (CROSS_ENTROPY,))]


def test_code_that_does_not_tokenize_is_skipped_not_raised():
    unclosed = ALICE[CROSS_ENTROPY].replace("keepdim=True).values", "keepdim=True.values", 1)
    bad_dedent = BOB[DROPOUT].replace("    if prob == 1.0:", "      if prob == 1.0:")
    not_python = BOB[CROSS_ENTROPY].replace("def cross_entropy(", "def cross_entropy(:")  # tokenizes, no parse
    code = {"alice": {CROSS_ENTROPY: unclosed, DROPOUT: ALICE[DROPOUT]},
            "bob": {CROSS_ENTROPY: BOB[CROSS_ENTROPY], DROPOUT: bad_dedent},
            "carl": {CROSS_ENTROPY: not_python, DROPOUT: "def dropout(x, p=0.5, training=True):\n    return x +\n"}}

    pairs = similar_pairs(code, STUBS)

    assert [(p.first, p.second, p.exercises) for p in pairs] == [("bob", "carl", (CROSS_ENTROPY,))]


def two_copies() -> dict[str, dict[str, str]]:
    """Zoe copies Bob whole; Mia copies Ann's cross entropy, then rewrites one line of it."""
    ann = HONEST[CROSS_ENTROPY][1]
    mia = ann.replace("losses = log_norm - logits[torch.arange(n_rows), target]",
                      "losses = log_norm - logits.gather(1, target[:, None]).squeeze(1)")
    assert mia != ann
    return {"zoe": dict(BOB), "mia": {CROSS_ENTROPY: mia}, "bob": dict(BOB), "ann": {CROSS_ENTROPY: ann}}


def test_pairs_come_most_similar_first_each_in_sort_order():
    pairs = similar_pairs(two_copies(), STUBS)

    assert [(p.first, p.second) for p in pairs] == [("bob", "zoe"), ("ann", "mia")]
    assert pairs[0].share == 1.0 > pairs[1].share >= 0.8


def test_the_same_class_gives_the_same_pairs_in_any_order():
    code = {"zoe": dict(BOB), "bob": dict(BOB), "alice": dict(ALICE)}
    backwards = {student: dict(reversed(code[student].items())) for student in reversed(code)}

    assert similar_pairs(code, STUBS) == similar_pairs(backwards, dict(reversed(STUBS.items())))


def test_every_run_gives_the_same_pairs_whatever_python_salts_its_string_hashes_with():
    script = ("from tests.harness.test_similarity import STUBS, two_copies; "
              "from torchkata.classroom.similarity import similar_pairs; "
              "print(repr(similar_pairs(two_copies(), STUBS)))")
    runs = {subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": seed}).stdout
            for seed in ("1", "2", "3")}

    assert runs == {repr(similar_pairs(two_copies(), STUBS)) + "\n"}
