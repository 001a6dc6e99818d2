"""LMS intake: a zip of submissions is placed into submitted/<student>/<lesson>/, or refused
with an error naming every file it cannot place."""
import sys
import zipfile

import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT))  # the grader package lives at the repository's root
from grader import intake  # noqa: E402

LESSON = "01-micrograd"


def make_zip(path, names):
    with zipfile.ZipFile(path, "w") as archive:
        for name in names:
            archive.writestr(zipfile.ZipInfo(name, date_time=(2026, 3, 1, 12, 30, 0)), '{"cells": []}')
    return path


def test_canvas_style_flat_names_are_placed(tmp_path):
    z = make_zip(tmp_path / "canvas.zip", ["ada_12345_67890_micrograd.ipynb", "alan_222_micrograd-1.ipynb"])
    students, skipped = intake.intake(tmp_path, z, LESSON)
    assert sorted(students) == ["ada", "alan"] and not skipped
    placed = tmp_path / "submitted" / "ada" / LESSON
    assert (placed / "micrograd.ipynb").read_text() == '{"cells": []}'
    assert (placed / "timestamp.txt").read_text() == "2026-03-01 12:30:00"


def test_a_folder_per_student_is_placed(tmp_path):
    z = make_zip(tmp_path / "moodle.zip", ["export/Ada Lovelace_123_assignsubmission_file_/micrograd.ipynb",
                                           "export/grace/micrograd.ipynb"])
    students, _ = intake.intake(tmp_path, z, LESSON)
    assert sorted(students) == ["ada-lovelace", "grace"]
    assert (tmp_path / "submitted" / "ada-lovelace" / LESSON / "micrograd.ipynb").exists()


def test_files_it_cannot_place_are_named_with_the_reason(tmp_path):
    z = make_zip(tmp_path / "mixed.zip", ["ada_1_micrograd.ipynb", "README.txt", "bob_2_bigram.ipynb",
                                          "ada_3_micrograd.ipynb", "notes/report.pdf"])
    with pytest.raises(intake.IntakeError) as err:
        intake.intake(tmp_path, z, LESSON)
    message = str(err.value)
    assert "4 file(s)" in message
    assert "README.txt: the name does not say which student" in message
    assert "bob_2_bigram.ipynb: a notebook named bigram.ipynb: the lesson expects micrograd.ipynb" in message
    assert "ada_3_micrograd.ipynb: a second notebook for student 'ada'" in message
    assert "notes/report.pdf: not a notebook" in message
    assert not (tmp_path / "submitted").exists(), "nothing is placed when a file cannot be"


def test_skipping_places_the_rest(tmp_path):
    z = make_zip(tmp_path / "mixed.zip", ["ada_1_micrograd.ipynb", "README.txt"])
    students, skipped = intake.intake(tmp_path, z, LESSON, skip=True)
    assert students == ["ada"] and [name for name, _ in skipped] == ["README.txt"]


def test_a_custom_pattern_reads_other_lms_names(tmp_path):
    z = make_zip(tmp_path / "other.zip", ["submission-ada-micrograd.ipynb"])
    students, _ = intake.intake(tmp_path, z, LESSON, pattern=r"^submission-(?P<student>\w+)-(?P<file>\w+\.ipynb)$")
    assert students == ["ada"]
