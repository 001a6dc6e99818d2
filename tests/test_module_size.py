"""lib/, grader/ and bench/ stay readable in one sitting: no module over 300 lines."""

from conftest import ROOT

LIMIT = 300


def test_no_module_is_over_300_lines():
    long = {str(p.relative_to(ROOT)): n for folder in ("lib", "grader", "bench") for p in (ROOT / folder).rglob("*.py")
            if (n := len(p.read_text().splitlines())) > LIMIT}
    assert not long, f"modules over {LIMIT} lines (split them along their ideas): {long}"
