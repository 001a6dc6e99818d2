"""LMS intake through nbgrader's own `zip_collect` with the course's plugins (grader/plugins.py).

Every zip here is built from the real Lesson 1 student notebook, named as Moodle and Canvas
name their downloads; each copy carries its owner in its metadata, so a test can tell whose
notebook landed where. One `nbgrader zip_collect` run per download.
"""
import json
import os
import stat
import subprocess
import sys
import zipfile

import pytest

from conftest import BIN, ROOT, copy_course, student_path, tool_env

sys.path.insert(0, str(ROOT))  # the grader package lives at the repository's root
from grader import intake  # noqa: E402

LESSON = "01-micrograd"
NOTEBOOK = student_path(LESSON)


def notebook(owner):
    nb = json.loads(NOTEBOOK.read_text())
    nb["metadata"]["intake_test_owner"] = owner
    return json.dumps(nb)


def owner_of(path):
    return json.loads(path.read_text())["metadata"].get("intake_test_owner")


def write_zip(path, members):
    """members: (name, data, date) for files; data None for a folder; ("link", target) for a link."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data, date in members:
            info = zipfile.ZipInfo(name, date_time=date)
            info.compress_type = zipfile.ZIP_DEFLATED
            if isinstance(data, tuple):
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
                data = data[1]
            else:
                info.external_attr = (stat.S_IFREG | 0o644) << 16
            zf.writestr(info, data)
    return path


def new_course(tmp_path):
    (tmp_path / "course").mkdir()
    course = copy_course(tmp_path / "course")  # the zip is read against the released lesson
    (course / "book").mkdir()
    (course / "book" / LESSON).mkdir()
    (course / "book" / LESSON / NOTEBOOK.name).write_bytes(NOTEBOOK.read_bytes())
    return course


def zip_collect(course, *zips, extra=()):
    archive = course / "downloaded" / LESSON / "archive"
    archive.mkdir(parents=True, exist_ok=True)
    for z in zips:
        (archive / z.name).write_bytes(z.read_bytes())
    result = subprocess.run([str(BIN / "nbgrader"), "zip_collect", LESSON, "--force", *extra], cwd=course,
                            env=tool_env(), capture_output=True, text=True, timeout=300)
    report = course / "downloaded" / LESSON / "report.txt"
    return result, (report.read_text() if report.exists() else "")


def placed(course):
    return {p.parent.name: p / NOTEBOOK.name for p in (course / "submitted").glob(f"*/{LESSON}")}


EARLY, LATE = (2026, 3, 1, 10, 0, 0), (2026, 3, 1, 12, 30, 0)


@pytest.fixture(scope="module")
def moodle(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("moodle")
    course = new_course(tmp)
    outside = tmp / "outside.txt"
    z = write_zip(tmp / "CS101-Micrograd-123.zip", [
        ("Ada Lovelace_101_assignsubmission_file_/micrograd.ipynb", notebook("ada"), LATE),
        # a flat download names the file after the student
        ("Bob Babbage_102_assignsubmission_file_micrograd.ipynb", notebook("bob"), EARLY),
        # Carol's upload holds a folder named as Moodle names Bob's: still Carol's, and not her notebook
        ("Carol Clarke_103_assignsubmission_file_/Bob Babbage_102_assignsubmission_file_/micrograd.ipynb",
         notebook("carol-as-bob"), LATE),
        # Dan uploaded twice: the later upload wins, though by name it sorts first
        ("Dan Dee_104_assignsubmission_file_/micrograd.ipynb", notebook("dan-early"), EARLY),
        ("Dan Dee_104_assignsubmission_file_/micrograd (1).ipynb", notebook("dan-late"), LATE),
        ("../escape.ipynb", notebook("escape"), EARLY),
        ("/tmp/absolute.ipynb", notebook("absolute"), EARLY),
        ("Eve Evans_105_assignsubmission_file_/micrograd.ipynb", ("link", str(outside)), EARLY),
        ("Fay Fox_106_assignsubmission_file_/micrograd.ipynb", b" " * (50 * 2**20), EARLY),
        ("readme.txt", "not a submission", EARLY),
        # a display name the student chose: the id must stay a plain folder name
        (".._107_assignsubmission_file_/micrograd.ipynb", notebook("dots"), EARLY),
        ("José Núñez_108_assignsubmission_file_/micrograd.ipynb", notebook("jose"), EARLY),
    ])
    result, report = zip_collect(course, z)
    return course, result, report


def test_moodle_download_places_each_student_by_the_lms_name(moodle):
    course, result, _ = moodle
    assert result.returncode == 0, result.stderr
    got = placed(course)
    assert {s: owner_of(p) for s, p in got.items()} == {"ada-lovelace": "ada", "bob-babbage": "bob",
                                                         "dan-dee": "dan-late", "107": "dots", "jose-nunez": "jose"}
    assert sorted(p.name for p in course.iterdir() if p.name not in ("solutions", "book")) == [
        "downloaded", "exchange", "nbgrader_config.py", "submitted"]
    assert (got["ada-lovelace"].parent / "timestamp.txt").read_text().startswith("2026-03-01 12:30:00")


def test_a_folder_named_after_another_student_does_not_make_its_owner_that_student(moodle):
    course, _, report = moodle
    assert owner_of(placed(course)["bob-babbage"]) == "bob"
    assert "carol-clarke" not in placed(course)
    assert "Bob Babbage_102_assignsubmission_file_/micrograd.ipynb' is not a notebook of 01-micrograd" in report


def test_two_uploads_keep_the_latest_by_the_lms_date_and_are_reported(moodle):
    course, _, report = moodle
    assert owner_of(placed(course)["dan-dee"]) == "dan-late"
    assert (placed(course)["dan-dee"].parent / "timestamp.txt").read_text().startswith("2026-03-01 12:30:00")
    line = next(l for l in report.splitlines() if l.startswith("dan-dee:"))
    kept, left_out = line.split("left out")
    assert "2 uploads of micrograd.ipynb; kept the latest" in kept and "micrograd (1).ipynb (2026-03-01 12:30:00 UTC)" in kept
    assert "micrograd.ipynb (2026-03-01 10:00:00 UTC)" in left_out


def test_hostile_members_are_refused_and_reported(moodle):
    course, _, report = moodle
    assert "refused CS101-Micrograd-123.zip:../escape.ipynb: a path with '..'" in report
    assert "refused CS101-Micrograd-123.zip:/tmp/absolute.ipynb: an absolute path" in report
    assert "Eve Evans_105_assignsubmission_file_/micrograd.ipynb: a symbolic link" in report
    assert "Fay Fox_106_assignsubmission_file_/micrograd.ipynb: compressed" in report and "zip bomb" in report
    downloaded = course / "downloaded"
    assert not (downloaded / LESSON / "escape.ipynb").exists() and not (downloaded / "escape.ipynb").exists()
    assert not any(p.is_symlink() for p in downloaded.rglob("*"))
    assert not list(downloaded.rglob("absolute.ipynb"))
    assert {"eve-evans", "fay-fox"}.isdisjoint(placed(course))
    assert "not placed CS101-Micrograd-123/readme.txt" in report


def test_canvas_download_with_late_and_repeated_uploads(tmp_path):
    course = new_course(tmp_path)
    z = write_zip(tmp_path / "submissions.zip", [
        ("lovelaceada_1001_5001_micrograd.ipynb", notebook("ada-first"), EARLY),
        ("lovelaceada_LATE_1001_5002_micrograd-1.ipynb", notebook("ada-second"), LATE),
        ("turingalan_1002_5003_micrograd.ipynb", notebook("alan"), EARLY),
        # the part after Canvas's prefix is the student's own file name, never an identity
        ("hoppergrace_1003_5004_turingalan_1002_9999_micrograd.ipynb", notebook("grace-as-alan"), LATE),
    ])
    result, report = zip_collect(course, z)
    assert result.returncode == 0, result.stderr
    assert {s: owner_of(p) for s, p in placed(course).items()} == {"lovelaceada": "ada-second", "turingalan": "alan"}
    assert "lovelaceada: 2 uploads of micrograd.ipynb; kept the latest, submissions/lovelaceada_LATE" in report
    assert "hoppergrace_1003_5004_turingalan_1002_9999_micrograd.ipynb" in report


def test_a_download_with_nothing_to_collect_fails_with_a_message(tmp_path):
    course = new_course(tmp_path)
    result, report = zip_collect(course, write_zip(tmp_path / "wrong.zip", [
        ("notes/readme.txt", "hello", EARLY), ("ada/micrograd.ipynb", notebook("ada"), EARLY)]))
    assert result.returncode != 0
    assert "Nothing collected" in result.stderr and "Moodle or Canvas" in result.stderr
    assert "not placed wrong/ada/micrograd.ipynb: not named the way Moodle or Canvas names a submission" in report
    assert not (course / "submitted").exists()


def test_an_empty_archive_folder_fails_with_the_command_to_run(tmp_path):
    course = new_course(tmp_path)
    result, _ = zip_collect(course)
    assert result.returncode != 0
    assert "make intake ZIP=<file> LESSON=01-micrograd" in result.stderr


def test_make_intake_is_a_thin_call_of_zip_collect():
    make = subprocess.run(["make", "--no-print-directory", "-n", "intake", "ZIP=x.zip", f"LESSON={LESSON}"], cwd=ROOT,
                          capture_output=True, text=True)
    commands = [line for line in make.stdout.splitlines() if not line.startswith(("test ", "python -m pip"))]
    assert commands[-2:] == [f"mkdir -p downloaded/{LESSON}/archive && cp \"x.zip\" downloaded/{LESSON}/archive/",
                             f"nbgrader zip_collect {LESSON} --force"], make.stdout


def test_the_grader_command_runs_the_same_intake(tmp_path):
    course = new_course(tmp_path)
    z = write_zip(tmp_path / "canvas.zip", [("lovelaceada_1001_5001_micrograd.ipynb", notebook("ada"), EARLY),
                                            ("../x.ipynb", notebook("x"), EARLY)])
    result = subprocess.run([sys.executable, "-m", "grader", "--course", str(course), "intake", str(z), LESSON],
                            cwd=ROOT, env=tool_env(), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "Placed 1 submission(s)" in result.stdout and "refused canvas.zip:../x.ipynb" in result.stdout
    assert owner_of(placed(course)["lovelaceada"]) == "ada"


def test_a_damaged_member_is_refused_and_the_rest_extracted(tmp_path):
    from grader.extract import SafeExtractor

    archive, extracted = tmp_path / "archive", tmp_path / "extracted"
    archive.mkdir()
    extracted.mkdir()
    z = write_zip(archive / "d.zip", [("a_1_2_micrograd.ipynb", "x" * 5000, EARLY),
                                      ("b_3_4_micrograd.ipynb", notebook("b"), EARLY)])
    data = bytearray(z.read_bytes())
    start = data.index(b"a_1_2_micrograd.ipynb") + len("a_1_2_micrograd.ipynb")
    data[start + 2:start + 12] = b"\xff" * 10  # inside a's compressed stream
    z.write_bytes(bytes(data))
    SafeExtractor().extract(str(archive), str(extracted))
    assert not (extracted / "d" / "a_1_2_micrograd.ipynb").exists()
    assert owner_of(extracted / "d" / "b_3_4_micrograd.ipynb") == "b"


# --- submitted/ holds regular files only ---------------------------------------------------

def submission_folder(course, student):
    folder = course / "submitted" / student / LESSON
    folder.mkdir(parents=True)
    return folder


def test_links_devices_and_pipes_in_submitted_are_reported(tmp_path):
    course = tmp_path
    secret = tmp_path / "solutions.ipynb"
    secret.write_text(notebook("solutions"))
    (submission_folder(course, "honest") / NOTEBOOK.name).write_text(notebook("honest"))
    os.symlink(secret, submission_folder(course, "linker") / NOTEBOOK.name)
    os.link(secret, submission_folder(course, "hardlinker") / NOTEBOOK.name)
    os.mkfifo(submission_folder(course, "piper") / NOTEBOOK.name)
    (course / "submitted" / "folderlinker").mkdir()
    os.symlink(tmp_path, course / "submitted" / "folderlinker" / LESSON)
    found = {student: (path, reason) for student, path, reason in intake.unsafe_entries(course, LESSON)}
    assert set(found) == {"linker", "hardlinker", "piper", "folderlinker"}
    assert found["linker"] == (f"linker/{LESSON}/micrograd.ipynb", found["linker"][1])
    assert "symbolic link" in found["linker"][1]
    assert "hard link" in found["hardlinker"][1]
    assert "named pipe" in found["piper"][1]
    assert found["folderlinker"][0] == f"folderlinker/{LESSON}" and "symbolic link" in found["folderlinker"][1]


def test_a_device_file_is_reported(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("creating a device node needs root")
    os.mknod(submission_folder(tmp_path, "dev") / NOTEBOOK.name, stat.S_IFCHR | 0o600, os.makedev(1, 3))
    assert [r for _, _, r in intake.unsafe_entries(tmp_path, LESSON)] == ["a device file"]
