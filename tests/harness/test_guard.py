"""FileGuard puts the grader's files back exactly, whatever student code did to them."""

import os
import shutil

from torchkata.engine.guard import FileGuard


def tree(tmp_path):
    (tmp_path / "grader" / "tests" / "exercises").mkdir(parents=True)
    (tmp_path / "grader" / "tests" / "exercises" / "test_a.py").write_text("assert True\n")
    (tmp_path / "grader" / "solutions").mkdir()
    (tmp_path / "grader" / "solutions" / "a.py").write_text("def f(): return 1\n")
    (tmp_path / "student.zip").write_bytes(b"PK\x05\x06" + bytes(18))
    (tmp_path / "elsewhere").mkdir()
    return (tmp_path / "grader" / "tests", tmp_path / "grader" / "solutions", tmp_path / "student.zip")


def contents(paths):
    found = {}
    for path in paths:
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        found.update({str(f): (f.read_bytes(), f.stat().st_mode & 0o7777) for f in files})
    return found


def test_nothing_changed_means_nothing_to_say(tmp_path):
    guard = FileGuard(tree(tmp_path))
    assert guard.changes() == [] and guard.restore() == []


def test_every_kind_of_change_is_named_and_undone(tmp_path):
    paths = tree(tmp_path)
    before = contents(paths)
    guard = FileGuard(paths)
    tests, solutions, archive = paths
    (solutions / "a.py").write_text("def f(): return 2\n")
    (solutions / "planted.py").write_text("x = 1\n")
    os.chmod(tests / "exercises" / "test_a.py", 0o777)
    archive.unlink()
    said = ["solutions/a.py changed", "solutions/planted.py added", "student.zip deleted",
            "tests/exercises/test_a.py changed"]
    assert guard.changes() == said
    assert guard.restore() == said
    assert contents(paths) == before and guard.changes() == []


def test_a_folder_replaced_by_a_link_is_not_written_through(tmp_path):
    paths = tree(tmp_path)
    before = contents(paths)
    guard = FileGuard(paths)
    tests = paths[0]
    shutil.rmtree(tests / "exercises")
    (tests / "exercises").symlink_to(tmp_path / "elsewhere")
    assert "tests/exercises/test_a.py deleted" in guard.changes()
    guard.restore()
    assert not (tests / "exercises").is_symlink() and contents(paths) == before
    assert list((tmp_path / "elsewhere").iterdir()) == [], "the restored file went through the link"


def test_a_deleted_folder_comes_back(tmp_path):
    paths = tree(tmp_path)
    before = contents(paths)
    guard = FileGuard(paths)
    shutil.rmtree(paths[0])
    paths[0].write_text("not a folder")
    assert "tests/ replaced" in guard.changes()
    guard.restore()
    assert contents(paths) == before
