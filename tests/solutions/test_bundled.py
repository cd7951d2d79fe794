"""The datasets and answer templates shipped inside the package."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import re
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest
import yaml

from baryon.core.errors import IntegrityError, NotFound
from baryon.solutions import bundled
from baryon.solutions.bundled import (
    BUNDLED,
    bundled_path,
    load_answers,
    open_bundled,
)

SOLUTIONS = Path(str(resources.files("baryon.solutions")))

SHIPPED = {"banking77", "clinc150", "bitext_cs", "tfn_sentiment", "tfn_topic", "xwines", "concrete"}
ALLOWED_LICENCES = {"CC-BY-4.0", "CC-BY-3.0", "CDLA-Sharing-1.0", "MIT", "CC0-1.0"}
NOTICE_LICENCE_NAMES = {
    "CC-BY-4.0": "CC BY 4.0",
    "CC-BY-3.0": "CC BY 3.0",
    "CDLA-Sharing-1.0": "CDLA-Sharing-1.0",
    "MIT": "MIT",
    "CC0-1.0": "CC0 1.0",
}
NOTICE_TITLES = {
    "banking77": "Banking77",
    "clinc150": "CLINC150",
    "bitext_cs": "Bitext customer support",
    "tfn_sentiment": "Twitter Financial News — sentiment",
    "tfn_topic": "Twitter Financial News — topic",
    "xwines": "X-Wines",
    "concrete": "Concrete Compressive Strength",
}


def _sha256_of(dataset: str, file: str) -> str:
    digest = hashlib.sha256()
    with open_bundled(dataset, file) as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _header(dataset: str, file: str) -> list[str]:
    with open_bundled(dataset, file) as fh:
        text = io.TextIOWrapper(fh, encoding="utf-8", newline="")
        return next(csv.reader(text))


# --- the registry of bundled datasets ---------------------------------------------------


def test_bundled_names_are_exactly_the_open_licence_datasets() -> None:
    assert set(BUNDLED) == SHIPPED
    for name, meta in BUNDLED.items():
        assert meta.name == name
        assert meta.solution in {"support", "sentiment", "recommender", "tabular"}
        assert meta.licence in ALLOWED_LICENCES
        assert meta.citation.strip()
        assert meta.description.strip()
        assert meta.origin.strip()
        assert set(meta.sha256) == set(meta.files)


@pytest.mark.parametrize("name", ["financial_phrasebank", "loughran_mcdonald", "fiqa_sa", "fiqa"])
def test_bundled_restricted_dataset_is_not_shipped(name: str) -> None:
    assert name not in BUNDLED
    with pytest.raises(NotFound):
        open_bundled(name, "train.csv")


def test_bundled_tree_has_no_file_of_restricted_datasets() -> None:
    forbidden = re.compile(r"phrasebank|sentences_\d+agree|loughran|lm_wordlists|fiqa", re.I)
    shipped = [p for p in SOLUTIONS.glob("*/data/**/*") if p.is_file()]
    assert shipped, "no bundled files found"
    assert not [p for p in shipped if forbidden.search(str(p.relative_to(SOLUTIONS)))]
    assert not any("NC" in meta.licence.split("-") for meta in BUNDLED.values())


def test_bundled_tree_holds_only_declared_files() -> None:
    declared = {
        SOLUTIONS / meta.solution / "data" / meta.name / file
        for meta in BUNDLED.values()
        for file in meta.all_files
    }
    on_disk = {p for p in SOLUTIONS.glob("*/data/**/*") if p.is_file() and p.name != "__init__.py"}
    assert on_disk == declared


def test_bundled_total_size_stays_a_few_megabytes() -> None:
    total = sum(bundled_path(m.name, f).stat().st_size for m in BUNDLED.values() for f in m.files)
    assert total < 6_000_000


# --- opening files ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dataset", "file"),
    [(m.name, f) for m in BUNDLED.values() for f in m.all_files],
)
def test_bundled_file_exists_and_opens(dataset: str, file: str) -> None:
    path = bundled_path(dataset, file)
    assert path.is_file()
    assert path.stat().st_size > 0
    with open_bundled(dataset, file) as fh:
        head = fh.read(64)
    assert head
    assert not head.startswith(b"\x1f\x8b"), "open_bundled must return uncompressed bytes"


@pytest.mark.parametrize(
    ("dataset", "file"),
    [(m.name, f) for m in BUNDLED.values() for f in m.files],
)
def test_bundled_file_content_hash_matches_source(dataset: str, file: str) -> None:
    assert _sha256_of(dataset, file) == BUNDLED[dataset].sha256[file]


def test_bundled_gzip_is_deterministic() -> None:
    raw = bundled_path("clinc150", "val.csv.gz").read_bytes()
    assert raw[:2] == b"\x1f\x8b"
    assert raw[4:8] == b"\x00\x00\x00\x00", "gzip timestamp must be 0 for a stable hash"


def test_open_bundled_name_without_gz_gives_same_bytes_as_stored_name() -> None:
    with open_bundled("clinc150", "val.csv") as a, open_bundled("clinc150", "val.csv.gz") as b:
        assert a.read() == b.read()
    assert bundled_path("clinc150", "val.csv") == bundled_path("clinc150", "val.csv.gz")


def test_bundled_path_is_readable_by_pandas_with_inferred_compression() -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.read_csv(bundled_path("clinc150", "val.csv"))
    assert list(frame.columns) == ["text", "intent", "domain"]
    assert len(frame) == 3100
    assert (frame["intent"] == "oos").sum() == 100


@pytest.mark.parametrize(
    ("dataset", "file", "columns"),
    [
        ("banking77", "train.csv", ["text", "category"]),
        ("clinc150", "train.csv", ["text", "intent", "domain"]),
        ("tfn_sentiment", "train.csv", ["text", "label"]),
        ("tfn_topic", "train.csv", ["text", "label"]),
        (
            "xwines",
            "XWines_Slim_150K_ratings.csv",
            ["RatingID", "UserID", "WineID", "Vintage", "Rating", "Date"],
        ),
        (
            "concrete",
            "concrete.csv",
            [
                "id",
                "cement",
                "blast_furnace_slag",
                "fly_ash",
                "water",
                "superplasticizer",
                "coarse_aggregate",
                "fine_aggregate",
                "age_days",
                "compressive_strength_mpa",
            ],
        ),
    ],
)
def test_bundled_csv_has_source_header(dataset: str, file: str, columns: list[str]) -> None:
    assert _header(dataset, file) == columns


def test_bundled_bitext_has_response_column() -> None:
    header = _header("bitext_cs", "bitext_customer_support_4514.csv")
    assert {"instruction", "intent", "category", "response"} <= set(header)


def test_bundled_labels_tsv_maps_ids_to_names() -> None:
    with open_bundled("tfn_sentiment", "labels.tsv") as fh:
        rows = [line.split("\t") for line in fh.read().decode("utf-8").splitlines()]
    assert rows == [["0", "Bearish"], ["1", "Bullish"], ["2", "Neutral"]]
    with open_bundled("tfn_topic", "labels.tsv") as fh:
        assert len(fh.read().decode("utf-8").splitlines()) == 20


# --- errors ------------------------------------------------------------------------------


def test_bundled_path_unknown_dataset_raises_not_found() -> None:
    with pytest.raises(NotFound) as info:
        bundled_path("movielens", "ratings.csv")
    assert info.value.code == "unknown_bundled_dataset"
    assert info.value.http_status == 404


def test_open_bundled_unknown_file_raises_not_found() -> None:
    with pytest.raises(NotFound) as info:
        open_bundled("banking77", "test.csv")
    assert info.value.code == "unknown_bundled_file"


def test_bundled_path_traversal_name_raises_not_found() -> None:
    with pytest.raises(NotFound):
        bundled_path("banking77", "../clinc150/domains.json")


def test_open_bundled_missing_installed_file_raises_not_found(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    meta = BUNDLED["concrete"]
    ghost = type(meta)(
        name="concrete",
        solution="tabular",
        files=("gone.csv",),
        licence=meta.licence,
        citation=meta.citation,
        description=meta.description,
        origin=meta.origin,
        sha256={"gone.csv": "0" * 64},
    )
    monkeypatch.setattr(bundled, "BUNDLED", {**BUNDLED, "concrete": ghost})
    with pytest.raises(NotFound) as info:
        open_bundled("concrete", "gone.csv")
    assert info.value.code == "bundled_file_missing"


# --- NOTICE and licence texts ------------------------------------------------------------


def test_notice_names_each_shipped_dataset_licence_and_origin() -> None:
    notice = (SOLUTIONS / "NOTICE.md").read_text(encoding="utf-8")
    for name, meta in BUNDLED.items():
        title = NOTICE_TITLES[name]
        section = notice.split(f"## {title}", 1)
        assert len(section) == 2, f"NOTICE.md has no section for {title}"
        body = section[1].split("\n## ", 1)[0]
        assert NOTICE_LICENCE_NAMES[meta.licence] in body
        commit = re.search(r"[0-9a-f]{40}", meta.origin)
        assert commit is not None
        assert commit.group(0) in body
        for file in meta.all_files:
            assert f"`{file}`" in notice
    assert "gzip" in notice


def test_notice_states_restricted_datasets_are_not_shipped() -> None:
    notice = (SOLUTIONS / "NOTICE.md").read_text(encoding="utf-8")
    not_shipped = notice.split("Not shipped", 1)[1].split("\n\n", 1)[0]
    for name in ("Financial", "PhraseBank", "Loughran", "FiQA"):
        assert name in not_shipped


def test_licence_texts_travel_with_share_alike_and_cc0_data() -> None:
    cdla = bundled_path("bitext_cs", "LICENSE-CDLA-Sharing-1.0.txt").read_text(encoding="utf-8")
    assert cdla.startswith("Community Data License Agreement – Sharing – Version 1.0")
    assert "Section 7.  Miscellaneous" in cdla
    cc0 = bundled_path("xwines", "LICENSE-CC0.txt").read_text(encoding="utf-8")
    assert "CC0 1.0 Universal" in cc0
    assert BUNDLED["bitext_cs"].licence_file is not None
    assert BUNDLED["xwines"].licence_file is not None


# --- support answers ----------------------------------------------------------------------


def _categories() -> list[str]:
    with open_bundled("banking77", "categories.json") as fh:
        return list(json.load(fh))


def test_answers_cover_exactly_the_77_banking77_intents() -> None:
    categories = _categories()
    answers = load_answers().answers
    assert len(categories) == 77
    assert set(answers) == set(categories)


def test_answers_are_short_non_empty_and_without_contact_details() -> None:
    book = load_answers()
    url = re.compile(r"https?://|www\.|\.com\b|@", re.I)
    phone = re.compile(r"\d[\d\s-]{5,}\d")
    for intent, text in book.answers.items():
        assert text.strip(), intent
        assert 40 <= len(text) <= 400, intent
        sentences = re.findall(r"[.!?](?:\s|$)", text)
        assert 1 <= len(sentences) <= 3, intent
        assert not url.search(text), intent
        assert not phone.search(text), intent
        assert "{{" not in text, intent
        assert not re.search(r"\{(?![a-z_]+\})", text), f"bad placeholder in {intent}"
    assert book.handoff.strip()


def test_answers_do_not_reuse_bitext_responses() -> None:
    with open_bundled("bitext_cs", "bitext_customer_support_4514.csv") as fh:
        rows = csv.DictReader(io.TextIOWrapper(fh, encoding="utf-8", newline=""))
        responses = " ".join(row["response"] for row in rows).lower()
    for intent, text in load_answers().answers.items():
        first = " ".join(text.lower().split()[:8])
        assert first not in responses, intent


def test_load_answers_bad_file_raises_integrity_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yaml, "safe_load", lambda _text: {"answers": {"card_arrival": ""}})
    with pytest.raises(IntegrityError) as info:
        load_answers()
    assert info.value.code == "bad_answers_file"


def test_load_answers_not_a_mapping_raises_integrity_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(yaml, "safe_load", lambda _text: ["card_arrival"])
    with pytest.raises(IntegrityError):
        load_answers()


_IMPORT_PROBE = """
import sys
opened = []
sys.addaudithook(lambda event, args: opened.append(str(args[0])) if event == "open" else None)
import baryon.solutions.bundled
bad = [p for p in opened if "solutions" in p and not p.endswith((".py", ".pyc"))]
print(bad)
"""


def test_bundled_import_reads_no_data_file() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _IMPORT_PROBE], capture_output=True, text=True, check=False
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_gzip_module_round_trip_matches_open_bundled() -> None:
    raw = gzip.decompress(bundled_path("banking77", "train.csv.gz").read_bytes())
    with open_bundled("banking77", "train.csv") as fh:
        assert fh.read() == raw
