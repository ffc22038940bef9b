"""Where learner code runs, answering requests in plain data.

A `Worker` holds one implementation folder. It takes a request (bytes), runs learner code
under the tripwire with a fixed seed, and returns a reply (bytes). Requests and replies
both cross through `boundary`, so the caller can only ever see plain data, whether the
worker lives in the caller's process (today) or in a child process (the class grader).

Requests (dicts):
    {"op": "call", "exercise": id, "target": None | handle id, "args": [...], "kwargs": {...}, "seed": n}
    {"op": "getattr", "exercise": id, "target": handle id, "name": str}
    {"op": "probe", "exercise": id, "probe": "module:function", "args": [...], "kwargs": {...}, "seed": n}

Replies: {"status": "ok", "value": ..., "off_limits": [...], "ran": [...]}, or status
"raised", "not_attempted" or "broken" (the module would not import) with the details as
data: the learner's frames as [file, line, function, code], a message as `Message.to_json`.
"ran" names the learner's functions and classes that ran in the call (module.name).
"""

from __future__ import annotations

import importlib
import linecache
import os
import traceback
from pathlib import Path

import torch

from ..core.i18n import M_, Message
from ..core.manifest import Curriculum, load
from ..core.paths import SOLUTIONS
from . import boundary
from .loader import Implementation
from .tripwire import Tripwire, reference_code, refuse_reference_code, top_level_name

# The folders of a checkout a submission must not import by name (graded, its own files are elsewhere).
COURSE_FOLDERS = ("exercises", "solutions", "tests")


class Scene:
    """What a probe (a trusted scenario from tests/) gets to work with.

    `fn` is the learner's exercise, monitored; `attempt` runs a call that is expected to
    raise and describes what happened instead of letting the error escape; `sibling(name)`
    is another module of the same implementation (an exercise built on others checks them).
    """

    def __init__(self, fn, device: torch.device, sibling=None):
        self.fn = fn
        self.device = device
        self.sibling = sibling

    @staticmethod
    def attempt(call, *args, **kwargs) -> dict:
        try:
            value = call(*args, **kwargs)
        except NotImplementedError:
            raise
        except Exception as error:  # the learner's error, described as data
            return describe_error(error)
        return {"status": "returned", "value_type": type(value).__name__}


def describe_error(error: BaseException) -> dict:
    return {
        "status": "raised",
        "type": type(error).__name__,
        "mro": [c.__name__ for c in type(error).__mro__],
        "message": str(error),
    }


# What learner code might patch to fool a check; each is restored and reported if replaced.
WATCHED = [(torch, "allclose"), (torch, "isclose"), (torch, "equal"), (torch, "save"), (torch, "load"),
           (torch.testing, "assert_close"), (torch.Tensor, "__eq__"), (torch.Tensor, "allclose"),
           (torch.Tensor, "equal"), (torch.Tensor, "detach"), (torch.Tensor, "__reduce_ex__"),
           (boundary, "dumps"), (boundary, "_encode")]


class Worker:
    def __init__(self, folder: Path, device: str | torch.device = "cpu", curriculum: Curriculum | None = None,
                 reference_hidden: bool = False):
        self.impl = Implementation(Path(folder))
        self.device = torch.device(device)
        self.curriculum = curriculum or load()
        self._objects: dict[int, object] = {}  # what stayed behind, by the id its handle carries
        self._hits: list[str] = []
        self._ran: set[str] = set()
        self._originals = [(owner, name, vars(owner).get(name)) for owner, name in WATCHED]
        # Calling into the reference solutions is never the learner's own work. Where the
        # folder is hidden (a sandbox), only the copies already in memory can be reached:
        # those are disabled once, instead of watching every call for the folder's files.
        reference_folder = str(SOLUTIONS) + os.sep
        grading_the_reference = self.impl.folder.resolve() == SOLUTIONS
        if reference_hidden and not grading_the_reference:
            refuse_reference_code(reference_folder)
        self._forbidden_files = () if grading_the_reference or reference_hidden else (reference_folder,)
        # ... and its text run under another name is recognised by its code (tripwire.py).
        self._reference = None if grading_the_reference else reference_code(SOLUTIONS)
        self._learner_folder = str(self.impl.folder.resolve()) + os.sep

    # -- the one entry point -------------------------------------------------------
    def handle(self, request: bytes, exercise: str | None = None) -> bytes:
        """Serve one request; `exercise` (also inside the request) is a hint for sandboxes."""
        req = boundary.loads(request)
        self._hits, self._ran = [], set()
        try:
            value = self._serve(req)
        except _NotAttempted as stop:
            reply = {"status": "not_attempted", "trace": stop.trace}
        except _Broken as broken:
            reply = {"status": "broken", "file": broken.file, "detail": broken.detail.to_json(), "trace": broken.trace}
        except (Exception, SystemExit) as error:  # sys.exit in learner code is a wrong answer
            reply = describe_error(error)
            reply["message"] = self._as_the_learner_names_it(reply["message"])
            reply["trace"] = self._learner_trace(error)
        else:
            reply = {"status": "ok", "value": value}
        reply["off_limits"] = list(dict.fromkeys(self._hits))
        reply["ran"] = sorted(self._ran)
        reply["tampered"] = self._restore_watched()
        return boundary.dumps(reply, to_ref=self._to_ref)

    def _restore_watched(self) -> list[str]:
        tampered = []
        for owner, name, original in self._originals:
            if vars(owner).get(name) is not original:
                tampered.append(f"{getattr(owner, '__name__', owner)}.{name}")
                if original is None:
                    delattr(owner, name)
                else:
                    setattr(owner, name, original)
        return tampered

    # -- internals -----------------------------------------------------------------
    def _serve(self, req: dict):
        exercise = req["exercise"]
        if req["op"] == "getattr":
            return getattr(self._objects[req["target"]], req["name"])
        args = [self._resolve(a) for a in req.get("args", [])]
        kwargs = {k: self._resolve(v) for k, v in req.get("kwargs", {}).items()}
        self._seed(req.get("seed", 0))
        if req["op"] == "call":
            target = self._exercise_fn(exercise) if req.get("target") is None else self._objects[req["target"]]
            return self._monitored(target, exercise)(*args, **kwargs)
        if req["op"] == "probe":
            module_name, _colon, qualname = req["probe"].partition(":")
            probe = getattr(importlib.import_module(module_name), qualname)
            scene = Scene(self._monitored(self._exercise_fn(exercise), exercise), self.device, self.impl.module)
            return probe(scene, *args, **kwargs)
        raise ValueError(f"unknown request op {req['op']!r}")

    def _seed(self, seed: int) -> None:
        # torch.manual_seed would also queue a lazy seeding of every accelerator backend, with
        # a captured stack, on each call: a cost per request, for generators we never use.
        torch.default_generator.manual_seed(seed)
        if self.device.type == "cuda":
            torch.cuda.manual_seed_all(seed)

    def _exercise_fn(self, exercise: str):
        try:
            return self.impl.function(exercise)
        except NotImplementedError as error:
            raise _NotAttempted(self._learner_trace(error)) from None
        except Exception as error:
            trace = self._learner_trace(error)
            if isinstance(error, SyntaxError):
                detail = M_("SyntaxError at line {line}: {message}", line=error.lineno, message=error.msg)
                # The file that failed: the exercise's own, or one it imports (the capstone imports training.py).
                failed = Path(error.filename).name if error.filename else f"{exercise.split('.', 1)[0]}.py"
                trace = [*trace, [failed, error.lineno or 1, "<module>", (error.text or "").strip()]]
            else:
                failed = f"{exercise.split('.', 1)[0]}.py"
                hint = ""
                imported = (error.name or "").split(".")[0] if isinstance(error, ModuleNotFoundError) else ""
                if imported in COURSE_FOLDERS or imported in self.curriculum.modules:  # `import losses` too
                    hint = M_(" (your module imports the course's folder by name; graded, your files are in a folder "
                              "of their own: import from the same folder with a relative import instead, "
                              "from .activations import softmax)")
                detail = Message.join("", [f"{type(error).__name__}: {self._as_the_learner_names_it(str(error))}", hint])
            raise _Broken(failed, detail, trace) from None

    def _monitored(self, fn, exercise: str):
        names = self.curriculum.get(exercise).off_limits

        def call(*args, **kwargs):
            wire = Tripwire(names, self._forbidden_files, self._learner_folder, self._reference)
            try:
                with wire:
                    return fn(*args, **kwargs)
            except NotImplementedError as error:
                if self._is_stub(error):
                    raise _NotAttempted(self._learner_trace(error)) from None
                raise
            finally:  # after the wire's exit, which adds the hits it could only tell at the end
                self._hits.extend(wire.hits)
                self._ran.update(self._names_of(wire.ran))

        return call

    def _is_stub(self, error: BaseException) -> bool:
        """True when the error comes from a `raise NotImplementedError` line of the learner's
        file (the untouched stub), not from a torch op that lacks a kernel."""
        frames = traceback.extract_tb(error.__traceback__)
        if not frames:
            return False
        last = frames[-1]
        in_impl = Path(last.filename).resolve().is_relative_to(self.impl.folder.resolve())
        return in_impl and (last.line or "").lstrip().startswith("raise NotImplementedError")

    def _as_the_learner_names_it(self, text: str) -> str:
        """An error's text with the grader's names for the learner's files taken out: the folder
        the files were graded in (a sandbox's, a scratch copy's) and the package they were
        imported as, so `/run/torchkata/submission/losses.py` reads `losses.py` and
        `_torchkata_impl_3.losses` reads `losses`."""
        for inner in (self._learner_folder, f"{self.impl.package}.", self.impl.package):
            text = text.replace(inner, "")
        return text

    def _names_of(self, codes) -> set[str]:
        """module.name of the top-level function or class each code object belongs to
        (Model.forward is Model's; a helper nested in fit is fit's)."""
        return {f"{Path(code.co_filename).stem}.{top_level_name(code)}" for code in codes}

    def _learner_trace(self, error: BaseException) -> list[list]:
        """The frames of the learner's own files, most recent last, as [file, line, function, code]."""
        folder = self.impl.folder.resolve()
        frames = []
        for frame in traceback.extract_tb(error.__traceback__):
            path = Path(frame.filename).resolve()
            if path.is_relative_to(folder):
                code = (frame.line or linecache.getline(frame.filename, frame.lineno)).strip()
                frames.append([path.name, frame.lineno, frame.name, code])
        return frames

    def _resolve(self, value):
        if isinstance(value, boundary.HandleRef):
            return self._objects[value.id]
        if type(value) is list:
            return [self._resolve(v) for v in value]
        if type(value) is tuple:
            return tuple(self._resolve(v) for v in value)
        if type(value) is dict:
            return {k: self._resolve(v) for k, v in value.items()}
        return value

    def _to_ref(self, obj) -> boundary.HandleRef:
        key = id(obj)
        self._objects.setdefault(key, obj)
        try:
            text = repr(obj)
        except Exception:  # a learner's broken __repr__ must not break the reply
            text = f"<{type(obj).__qualname__}>"
        return boundary.HandleRef(key, type(obj).__qualname__, tuple(c.__name__ for c in type(obj).__mro__), text[:500])


class _NotAttempted(BaseException):
    """A stub was reached. A BaseException, so that no scenario's `except Exception` (a probe
    that expects the learner's code to raise) mistakes it for the learner's own error."""

    def __init__(self, trace: list[list]):
        self.trace = trace


class _Broken(Exception):
    """The module (`file`) could not be loaded: why, and the learner's frames on the way."""

    def __init__(self, file: str, detail: Message, trace: list[list]):
        self.file, self.detail, self.trace = file, detail, trace
