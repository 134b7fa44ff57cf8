import shutil

from lecun98 import report
from lecun98.assumptions import ASSUMPTIONS


def test_readme_blocks_render_from_results(tmp_path):
    readme = tmp_path / "README.md"
    shutil.copy(report.README, readme)
    report.render_readme(readme)
    text = readme.read_text()
    for name in report.BLOCKS:
        assert f"<!-- BEGIN {name} -->" in text and f"<!-- END {name} -->" in text
    for a in ASSUMPTIONS:
        assert f"`{a.id}`" in text
    report.render_readme(readme)  # idempotent: a second rendering changes nothing
    assert readme.read_text() == text


def test_every_assumption_id_is_named_in_the_code():
    source = "".join(p.read_text() for p in report.REPO.joinpath("lecun98").rglob("*.py"))
    missing = [a.id for a in ASSUMPTIONS if f"ASSUMPTION({a.id})" not in source]
    assert not missing, missing
