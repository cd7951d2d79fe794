"""Real datasets shipped inside the package, and how to open them.

Every file lives in ``baryon/solutions/<solution>/data/<dataset>/`` and is read
through :mod:`importlib.resources`, so it works from a source checkout and from an
installed wheel alike. Large files are stored gzip-compressed (``train.csv.gz``);
the uncompressed bytes are exactly those of the source, and :attr:`BundledDataset.sha256`
records their SHA-256 so the content hash is stable whatever the compression.

Origins, licences and citations are in ``baryon/solutions/NOTICE.md``. Datasets
with a non-commercial or unclear licence (Financial PhraseBank, Loughran-McDonald,
FiQA) are deliberately **not** bundled; loaders take a path the user supplies.

Importing this module does no I/O: :data:`BUNDLED` is plain metadata.

Examples
--------
>>> import pandas as pd
>>> from baryon.solutions.bundled import open_bundled
>>> with open_bundled("banking77", "train.csv") as fh:  # doctest: +SKIP
...     frame = pd.read_csv(fh)
"""

from __future__ import annotations

import gzip
import io
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from types import MappingProxyType
from typing import BinaryIO, cast

import yaml

from baryon.core.errors import BaryonError, IntegrityError, NotFound

__all__ = [
    "BUNDLED",
    "BundledDataset",
    "SupportAnswers",
    "bundled_path",
    "load_answers",
    "open_bundled",
]

_PACKAGE = "baryon.solutions"


@dataclass(frozen=True)
class BundledDataset:
    """Metadata of one dataset shipped in the package.

    Parameters
    ----------
    name : str
        Dataset name, the folder under ``<solution>/data/`` (e.g. ``"banking77"``).
    solution : str
        Solution package that ships it: ``support``, ``sentiment``, ``recommender``
        or ``tabular``.
    files : tuple of str
        Data files as stored (``train.csv.gz`` is gzip; everything else is raw).
    licence : str
        SPDX licence identifier of the data (``CC-BY-4.0``, ``CC0-1.0``, ...).
    citation : str
        The reference the dataset's authors ask users to cite (full BibTeX in
        NOTICE.md).
    description : str
        One paragraph: what the rows are, how many, and what Baryon uses them for.
    origin : str
        Repository and commit (or URL) the files were copied from.
    sha256 : Mapping of str to str
        Stored data file name -> SHA-256 (hex) of its *uncompressed* bytes.
    licence_file : str or None
        Licence text stored beside the data when the licence requires the text to
        travel with it (CDLA-Sharing-1.0, CC0); ``None`` when NOTICE.md carries the
        required statement.
    """

    name: str
    solution: str
    files: tuple[str, ...]
    licence: str
    citation: str
    description: str
    origin: str
    sha256: Mapping[str, str]
    licence_file: str | None = None

    @property
    def all_files(self) -> tuple[str, ...]:
        """Data files plus the licence file, if any (stored names)."""
        return (*self.files, self.licence_file) if self.licence_file else self.files

    def resolve(self, file: str) -> str:
        """Return the stored name of ``file``, accepting the name without ``.gz``.

        Parameters
        ----------
        file : str
            A stored name (``train.csv.gz``) or its uncompressed name (``train.csv``).

        Returns
        -------
        str
            The stored file name.

        Raises
        ------
        NotFound
            ``code="unknown_bundled_file"`` if the dataset has no such file.
        """
        stored = self.all_files
        if file in stored:
            return file
        if f"{file}.gz" in stored:
            return f"{file}.gz"
        raise NotFound(
            f"bundled dataset {self.name!r} has no file {file!r}",
            code="unknown_bundled_file",
            details={"dataset": self.name, "file": file, "files": list(stored)},
        )


_CASANUEVA_2020 = (
    "Casanueva, Temcinas, Gerz, Henderson, Vulic. Efficient Intent Detection with Dual "
    "Sentence Encoders. 2nd Workshop on NLP for ConvAI, ACL 2020. arXiv:2003.04807."
)
_LARSON_2019 = (
    "Larson, Mahendran, Peper, Clarke, Lee, Hill, Kummerfeld, Leach, Laurenzano, Tang, "
    "Mars. An Evaluation Dataset for Intent Classification and Out-of-Scope Prediction. "
    "EMNLP-IJCNLP 2019 (ACL Anthology D19-1131). arXiv:1909.02027."
)
_BITEXT = (
    "Bitext Innovations. Customer Service Tagged Training Dataset for LLM-based Virtual "
    "Assistants (bitext/customer-support-llm-chatbot-training-dataset), 2023."
)
_TFN = (
    "zeroshot (Neural Magic). Twitter Financial News dataset, Hugging Face hub: "
    "zeroshot/twitter-financial-news-{task}."
)
_XWINES = (
    "de Azambuja, Morais, Filipe. X-Wines: A Wine Dataset for Recommender Systems and "
    "Machine Learning. Big Data and Cognitive Computing 7(1):20, 2023. "
    "doi:10.3390/bdcc7010020."
)
_YEH_1998 = (
    "Yeh. Modeling of strength of high-performance concrete using artificial neural "
    "networks. Cement and Concrete Research 28(12), 1998. Data: UCI Machine Learning "
    "Repository, Concrete Compressive Strength (dataset 165)."
)


_DATASETS: tuple[BundledDataset, ...] = (
    BundledDataset(
        name="banking77",
        solution="support",
        files=("train.csv.gz", "categories.json"),
        licence="CC-BY-4.0",
        citation=_CASANUEVA_2020,
        description=(
            "Banking77: 10,003 online-banking customer queries (columns text, category) "
            "labelled with 77 intents (the official training split; the official test "
            "split is not bundled). Trains the support intent classifier."
        ),
        origin=(
            "github.com/PolyAI-LDN/task-specific-datasets @ "
            "57ec275d8078af65b7731c2a98be812d844a6d6b, banking_data/"
        ),
        sha256=MappingProxyType(
            {
                "train.csv.gz": "b06e26ac675513959a63135f11b94ea7786ed02da65db93a5650d8838cbc664b",
                "categories.json": (
                    "53261da888122daf2d120d925458631d9619e15d82e56052e7a42e535ce32b63"
                ),
            }
        ),
    ),
    BundledDataset(
        name="clinc150",
        solution="support",
        files=("train.csv.gz", "val.csv.gz", "oos_plus_train.json", "domains.json"),
        licence="CC-BY-3.0",
        citation=_LARSON_2019,
        description=(
            "CLINC150: short lower-case queries (columns text, intent, domain) in 150 "
            "intents over 10 domains plus out-of-scope ('oos'). train: 15,000 in-scope + "
            "100 oos; val: 3,000 in-scope + 100 oos; oos_plus_train.json: 250 extra oos "
            "training queries; domains.json: domain -> intents. The test split is not "
            "bundled. Calibrates the support hand-off threshold (oos and non-banking "
            "intents act as out-of-scope for a bank)."
        ),
        origin=(
            "github.com/clinc/oos-eval @ 828f8093932c8fe6ca7936c3d2e52903b1c523de, "
            "data/data_full.json, data/domains.json, data/data_oos_plus.json"
        ),
        sha256=MappingProxyType(
            {
                "train.csv.gz": "117d5b4b03efa1838167870e0af61197acfb8e0f563791a6dda8822104a50838",
                "val.csv.gz": "d7ef13a5e126dfa4a607c3154c103726fab355f49a184f23bee2d97625a0838a",
                "oos_plus_train.json": (
                    "4345d86268b2fd74e83fddd902771fc8596cc4f839c4cb9c93c0a8ef7521d1ec"
                ),
                "domains.json": "b947b579d3b8e74b06f93b01083d8efaff2888b43a3e362533bd88a6e1211b3a",
            }
        ),
    ),
    BundledDataset(
        name="bitext_cs",
        solution="support",
        files=("bitext_customer_support_4514.csv.gz",),
        licence="CDLA-Sharing-1.0",
        citation=_BITEXT,
        description=(
            "Bitext customer support: 3,612 rows of the 4,514-row release; each has a "
            "customer instruction, one of 27 intents in 11 categories, an optional tagged "
            "slot and a written response with {{Placeholder}} slots. Synthetic (not real "
            "customer logs). Multi-line quoted CSV fields."
        ),
        origin=(
            "github.com/bitext/customer-support-llm-chatbot-training-dataset @ "
            "337b96868e02b40a05f9c0df3290c65a15ea573e, "
            "data/train/Bitext_Sample_Customer_Support_Training_Dataset.csv"
        ),
        licence_file="LICENSE-CDLA-Sharing-1.0.txt",
        sha256=MappingProxyType(
            {
                "bitext_customer_support_4514.csv.gz": (
                    "1723954377766fe245141a7a5c6fbd7ff6db5a8e2090012e31d93aba314142ad"
                ),
            }
        ),
    ),
    BundledDataset(
        name="tfn_sentiment",
        solution="sentiment",
        files=("train.csv.gz", "labels.tsv"),
        licence="MIT",
        citation=_TFN.format(task="sentiment"),
        description=(
            "Twitter Financial News sentiment: 9,543 finance tweets (columns text, label; "
            "0 Bearish, 1 Bullish, 2 Neutral; the official train split). labels.tsv maps "
            "id -> name. Trains the sentiment model."
        ),
        origin=(
            "github.com/umaima-aman/Twee_Sentiment_Analysis-DeepLearning @ "
            "a313e15137569549fd5e86b27c88e1945bf88168, sent_train.csv (mirror of "
            "zeroshot/twitter-financial-news-sentiment)"
        ),
        sha256=MappingProxyType(
            {
                "train.csv.gz": "184e6322b7f0e84c3103a83d198f1be8203de8b63a857f67a2964321b71c4e8d",
                "labels.tsv": "9b9bc3d1d81a21427bbfb36dcfc613bfb68f31edd3deeb7ac9cdc60bfea17ea2",
            }
        ),
    ),
    BundledDataset(
        name="tfn_topic",
        solution="sentiment",
        files=("train.csv.gz", "labels.tsv"),
        licence="MIT",
        citation=_TFN.format(task="topic"),
        description=(
            "Twitter Financial News topic: 16,990 finance tweets (columns text, label; "
            "20 topics, strongly imbalanced; the official train split). labels.tsv maps "
            "id -> topic. Trains the topic model."
        ),
        origin=(
            "github.com/jasonlkh-wa/msbd-manual-verbalizer @ "
            "ead00e58352a9d6ab3172b39dab989a906e2e310, "
            "data/twitter-financial-news-topic/ (mirror of "
            "zeroshot/twitter-financial-news-topic)"
        ),
        sha256=MappingProxyType(
            {
                "train.csv.gz": "63b9ea8183728dd5ddc6a57289341556509ddc0a8d037616519319a316b54490",
                "labels.tsv": "c08cb20fdca3687679f20e4e45f393fb42838365012f6710cfe742333b8e0886",
            }
        ),
    ),
    BundledDataset(
        name="xwines",
        solution="recommender",
        files=("XWines_Slim_150K_ratings.csv.gz", "XWines_Slim_1K_wines.csv.gz"),
        licence="CC0-1.0",
        citation=_XWINES,
        description=(
            "X-Wines Slim: 120,064 explicit 1-5 ratings with dates (RatingID, UserID, "
            "WineID, Vintage, Rating, Date; a subset of the 150K release) and metadata of "
            "1,007 wines (type, grapes, food pairings, country, region, winery). Trains "
            "the recommender and its content-based cold-start fallback."
        ),
        origin=(
            "github.com/rogerioxavier/X-Wines @ 6082668ce552912497a8ec0836655497502e383f, "
            "Dataset/last/XWines_Slim_1K_wines_150K_ratings.zip"
        ),
        licence_file="LICENSE-CC0.txt",
        sha256=MappingProxyType(
            {
                "XWines_Slim_150K_ratings.csv.gz": (
                    "cd42974f354488fb15e8e32f9fc86fb9eca7562ad01d3cb941c2bdcc89059a00"
                ),
                "XWines_Slim_1K_wines.csv.gz": (
                    "04d03b321108706f59c4c1067938ac0468382edf0f071110f33d1eaf0c884666"
                ),
            }
        ),
    ),
    BundledDataset(
        name="concrete",
        solution="tabular",
        files=("concrete.csv",),
        licence="CC-BY-4.0",
        citation=_YEH_1998,
        description=(
            "Concrete compressive strength: 824 of the 1,030 UCI mixtures; id, seven mix "
            "components in kg/m3, age_days and the target compressive_strength_mpa (MPa). "
            "The tabular regression demo."
        ),
        origin=(
            "github.com/Daniel-RPS/Concrete-Repository-UCI @ "
            "4a13f04cfa4728053f904162a5294aa77e437853, Concrete_Data.xls (UCI original)"
        ),
        sha256=MappingProxyType(
            {"concrete.csv": "968464a540f1781c111832997210d35d5e94fc181a578a00e2d6198a397cab6f"}
        ),
    ),
)

BUNDLED: Mapping[str, BundledDataset] = MappingProxyType({d.name: d for d in _DATASETS})
"""Every dataset shipped in the package, by name (read-only)."""


def _dataset(dataset: str) -> BundledDataset:
    try:
        return BUNDLED[dataset]
    except KeyError:
        raise NotFound(
            f"no bundled dataset named {dataset!r}; bundled: {', '.join(sorted(BUNDLED))}",
            code="unknown_bundled_dataset",
            details={"dataset": dataset, "bundled": sorted(BUNDLED)},
        ) from None


def _resource(dataset: str, file: str) -> tuple[Traversable, str]:
    meta = _dataset(dataset)
    stored = meta.resolve(file)
    node = resources.files(_PACKAGE).joinpath(meta.solution, "data", meta.name, stored)
    if not node.is_file():
        raise NotFound(
            f"bundled file {meta.solution}/data/{meta.name}/{stored} is missing from "
            "this installation; reinstall baryon",
            code="bundled_file_missing",
            details={"dataset": dataset, "file": stored},
        )
    return node, stored


def bundled_path(dataset: str, file: str) -> Path:
    """Return the file-system path of a bundled file.

    Parameters
    ----------
    dataset : str
        A key of :data:`BUNDLED` (e.g. ``"banking77"``).
    file : str
        A stored name (``"train.csv.gz"``) or its uncompressed name (``"train.csv"``,
        resolved to the stored ``.gz``). The path returned is the **stored** file, so
        it may be gzip-compressed: pandas reads it directly (compression is inferred
        from the suffix); use :func:`open_bundled` for the uncompressed bytes.

    Returns
    -------
    pathlib.Path
        Absolute path of the stored file inside the installed package.

    Raises
    ------
    NotFound
        ``unknown_bundled_dataset``, ``unknown_bundled_file``, or
        ``bundled_file_missing`` when the installation lacks the file.
    BaryonError
        ``code="bundled_not_on_disk"`` if the package is imported from a zip
        archive (no real path exists; use :func:`open_bundled`).
    """
    node, _ = _resource(dataset, file)
    if not isinstance(node, Path):
        raise BaryonError(
            "baryon is installed as a zip archive; bundled files have no path (use open_bundled)",
            code="bundled_not_on_disk",
        )
    return node.resolve()


def open_bundled(dataset: str, file: str) -> BinaryIO:
    """Open a bundled file for reading as bytes, gunzipping ``.gz`` files.

    Parameters
    ----------
    dataset : str
        A key of :data:`BUNDLED`.
    file : str
        Stored or uncompressed name (``"train.csv"`` and ``"train.csv.gz"`` both
        give the uncompressed CSV bytes).

    Returns
    -------
    BinaryIO
        A binary file object over the uncompressed content; the caller closes it
        (use ``with``).

    Raises
    ------
    NotFound
        Unknown dataset or file, or the file is missing from the installation.
    """
    node, stored = _resource(dataset, file)
    if not stored.endswith(".gz"):
        return cast(BinaryIO, node.open("rb"))
    if isinstance(node, Path):
        return cast(BinaryIO, gzip.open(node, "rb"))
    return cast(BinaryIO, gzip.GzipFile(fileobj=io.BytesIO(node.read_bytes()), mode="rb"))


@dataclass(frozen=True)
class SupportAnswers:
    """The support solution's answer templates (``support/answers.yaml``).

    Parameters
    ----------
    answers : Mapping of str to str
        Banking77 intent -> answer text (1-3 sentences, for a generic bank).
    handoff : str
        Message shown when the turn is handed to a human.
    """

    answers: Mapping[str, str]
    handoff: str


def load_answers() -> SupportAnswers:
    """Read and check the bundled answer templates of the support solution.

    Returns
    -------
    SupportAnswers
        The intent -> answer mapping and the hand-off message.

    Raises
    ------
    IntegrityError
        ``code="bad_answers_file"`` if the file is not a mapping with a non-empty
        ``answers`` mapping of non-empty strings and a non-empty ``handoff`` string.
    """
    text = resources.files(_PACKAGE).joinpath("support", "answers.yaml").read_text("utf-8")
    doc = yaml.safe_load(text)
    answers = doc.get("answers") if isinstance(doc, dict) else None
    handoff = doc.get("handoff") if isinstance(doc, dict) else None
    if (
        not isinstance(answers, dict)
        or not answers
        or not all(
            isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in answers.items()
        )
        or not isinstance(handoff, str)
        or not handoff.strip()
    ):
        raise IntegrityError(
            "support/answers.yaml must hold an 'answers' mapping of intent -> text and a "
            "'handoff' text",
            code="bad_answers_file",
        )
    clean = {str(k): " ".join(str(v).split()) for k, v in answers.items()}
    return SupportAnswers(answers=MappingProxyType(clean), handoff=" ".join(handoff.split()))
