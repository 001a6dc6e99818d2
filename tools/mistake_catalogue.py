"""Write book/mistakes.md, the instructor guide's page of the mistakes each exercise diagnoses.

The source is the mistake catalogue of each lesson (`CATALOGUE` in tests/test_mistakes_*.py):
every entry is a wrong answer that the tests prove fails a visible test with a message naming
it, so the page lists only what the feedback really says. `make mistakes` rewrites the page;
tests/test_lesson_rules.py fails when it is out of date.

    python tools/mistake_catalogue.py [--check]
"""
import argparse
import importlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "book" / "mistakes.md"
# The test file that holds each lesson's catalogue.
MISTAKE_TESTS = {"01-micrograd": "micrograd", "02-bigram": "bigram", "03-mlp": "mlp", "04-batchnorm": "batchnorm",
                 "05-backprop": "backprop", "06-wavenet": "wavenet", "07-gpt": "attention", "08-tokenizer": "bpe"}

HEADER = """# The mistakes each exercise diagnoses

Every graded exercise comes with a catalogue of wrong answers: mistakes from the lectures,
mistakes students make when an idea is understood only halfway (*classic*), and careless ones
such as hard-coding the lecture's sizes or changing the caller's input (*sloppy*). The tests
(`tests/test_mistakes_*.py`) run each of them through the exercise's **visible** test cell and
check that it fails with a message containing the words in the last column, so a student who
makes one of these mistakes learns it from the visible tests, before handing in. The hidden
tests repeat the same kinds of check on other inputs. This page is generated from those
catalogues (`python tools/mistake_catalogue.py`); the class-wide counts of diagnosed mistakes
are in `grading/analytics.html` after `make report`.
"""


def cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def render():
    sys.path[:0] = [str(ROOT / "tests"), str(ROOT)]  # tests first: its conftest holds the helpers
    parts = [HEADER]
    for lesson, module_name in MISTAKE_TESTS.items():
        catalogue = getattr(importlib.import_module(f"test_mistakes_{module_name}"), "CATALOGUE", [])
        if not catalogue:
            continue
        parts.append(f"\n## Lesson {int(lesson[:2])}: `{lesson}`\n")
        for exercise in dict.fromkeys(w.exercise for w in catalogue):
            entries = [w for w in catalogue if w.exercise == exercise]
            parts.append(f"\n### `{exercise}` ({len(entries)} mistakes)\n\n| mistake | kind | failing test | "
                         "the message says |\n|---|---|---|---|\n")
            parts.extend(f"| {cell(w.what)} | {w.kind} | `{w.test}` | {cell(w.names)} |\n" for w in entries)
    return "".join(parts)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the page is out of date")
    args = parser.parse_args()
    text = render()
    if args.check:
        if not PAGE.exists() or PAGE.read_text() != text:
            sys.exit(f"{PAGE.relative_to(ROOT)} is out of date: run python tools/mistake_catalogue.py")
        return
    PAGE.write_text(text)
    print(f"wrote {PAGE.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
