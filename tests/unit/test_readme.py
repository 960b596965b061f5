from pathlib import Path

from skyglass.settings import Settings

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_documents_every_setting():
    # Given the README's configuration table
    text = README.read_text()
    # Then every setting's environment variable has a row
    missing = [n for n in Settings.model_fields if f"`SKYGLASS_{n.upper()}`" not in text]
    assert missing == []


def test_readme_opens_with_the_two_commands():
    text = README.read_text()
    assert text.index("make run") < text.index("make test") < text.index("## Quickstart")
