"""Command line: ``python -m benchmark run|score|publish|list|data|check-generator``."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from benchmark.errors import BenchmarkError, ConfigError, Terminated
from benchmark.registry import SYNTHCITY_ENV

DEFAULT_DATASET = "pbmc68k"
PLUGIN_ENV = "OMICS_BENCHMARK_PLUGINS"

if TYPE_CHECKING:
    from benchmark.run.config import LoadOptions


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmark",
        description="Benchmark synthetic omics data generators and publish leaderboards.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="run generators x seeds on a dataset and store one record per job")
    run.add_argument("--dataset", default=DEFAULT_DATASET,
                     help=f"dataset card id or a file (.h5ad, .csv, .tsv, .parquet, .vcf[.gz]); default {DEFAULT_DATASET}")
    run.add_argument("--generators", default="all", help="'all' (every generator for the modality) or a comma list")
    run.add_argument("--seeds", type=int, default=3, help="generator seeds 0..N-1 (default 3)")
    run.add_argument("--budget", choices=("smoke", "default", "paper"), default="default",
                     help="training budget: smoke (seconds, CI), default (CPU minutes), paper (published settings)")
    run.add_argument("--jobs", type=int, default=1, help="jobs run at once, each in its own process (default 1; "
                                                         "with --executor dask, the LocalCluster's workers)")
    run.add_argument("--executor", choices=("local", "dask"), default="local",
                     help="local: job processes on this machine (default); dask: jobs on a Dask cluster, a "
                          "LocalCluster of --jobs workers or --scheduler's (pip install -e .[dask]; docs/cluster.md)")
    run.add_argument("--scheduler", default=None, metavar="ADDR",
                     help="address of a running Dask scheduler, e.g. tcp://10.0.0.5:8786 (with --executor dask)")
    run.add_argument("--save-synthetic", action="store_true",
                     help="keep each job's synthetic rows and labels beside its record (seed-<k>.synthetic.npz)")
    run.add_argument("--timeout", type=float, default=None, metavar="S",
                     help="seconds per job before it is killed and recorded as timeout "
                          "(default: 900 smoke, 21600 default, none paper)")
    run.add_argument("--memory-limit", type=float, default=None, metavar="GB",
                     help="address-space limit per job process; a job over it fails with 'out of memory'")
    run.add_argument("--results", type=Path, default=Path("results"), help="results folder (default ./results)")
    run.add_argument("--force", action="store_true", help="redo jobs that already have an ok record")
    run.add_argument("--device", default="auto", help="torch device for neural generators (default auto)")
    run.add_argument("--split-seed", type=int, default=0, help="seed of the train/holdout/test split (default 0)")
    run.add_argument("--min-class-size", type=int, default=None,
                     help="drop classes with fewer samples before splitting (default: the card's, else 10)")
    run.add_argument("--metrics", default="all", metavar="A,B",
                     help="metrics or families to compute, e.g. 'fidelity,privacy' or 'dcr,mia' (default all; "
                          "see `list metrics`)")
    run.add_argument("--knn-k", default="3,5", metavar="KPR,KDC",
                     help="neighbours for precision/recall and for density/coverage (default 3,5; at most 10)")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_hparam_option(run)
    add_synthcity_option(run)
    protocol = run.add_argument_group("protocols")
    protocol.add_argument("--protocol", choices=("standard", "biased", "small-n"), default="standard",
                          help="standard (default); biased: chosen classes cut to a fraction of their train rows "
                               "(Offspring GAN); small-n: train on N real rows, score augmentation (Lacan et al.)")
    protocol.add_argument("--biased-labels", default="", metavar="A,B",
                          help="classes cut by --protocol biased (default: every class but the two largest)")
    protocol.add_argument("--biased-fraction", type=float, default=0.2,
                          help="fraction of train rows the biased classes keep (default 0.2, at least 5 rows)")
    protocol.add_argument("--small-n", default="50,100", metavar="N,N",
                          help="real training rows for --protocol small-n (default 50,100)")
    protocol.add_argument("--n-fake", default="0,1000,3000", metavar="M,M",
                          help="synthetic rows added to the N real ones (default 0,1000,3000)")
    run.add_argument("--genes", default=None, metavar="landmark|top-variance:N",
                     help="feature set of tcga/gtex cards: the 978 L1000 landmark genes (default) or the N "
                          "most variable genes over all samples of the classes the split keeps")
    add_file_options(run)
    add_plugin_option(run)

    score = commands.add_parser("score", help="score a synthetic dataset made elsewhere against a dataset's split "
                                              "and store it as an external record")
    score.add_argument("--dataset", default=DEFAULT_DATASET, help=f"dataset card id or file (default {DEFAULT_DATASET})")
    score.add_argument("--synthetic", required=True, type=Path, metavar="FILE",
                       help="synthetic rows with their labels (column or obs column 'label', or --label-column): "
                            ".npz, .csv, .tsv, .parquet or .h5ad (docs/scoring.md)")
    score.add_argument("--name", default=None,
                       help="leaderboard row name (default: the file's name without its extension)")
    score.add_argument("--results", type=Path, default=Path("results"), help="results folder (default ./results)")
    score.add_argument("--split-seed", type=int, default=0, help="seed of the train/holdout/test split (default 0)")
    score.add_argument("--budget", choices=("smoke", "default", "paper"), default="default",
                       help="which results folder (and dataset size) the file is scored for (default: default)")
    score.add_argument("--metrics", default="all", metavar="A,B", help="metrics or families to compute (default all)")
    score.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_file_options(score)

    publish = commands.add_parser("publish", help="write leaderboards/<dataset>.md and figures from records")
    which = publish.add_mutually_exclusive_group()
    which.add_argument("--dataset", default=None, help="dataset folder under --results (default: all)")
    which.add_argument("--all", action="store_true",
                       help="every dataset folder, plus the index README.md (the default without --dataset)")
    publish.add_argument("--results", type=Path, default=Path("results"), help="results folder (default ./results)")
    publish.add_argument("--out", type=Path, default=Path("results/leaderboards"),
                         help="output folder (default ./results/leaderboards; the committed pages use --out leaderboards)")
    publish.add_argument("--html", action="store_true",
                         help="also write the static web leaderboard <out>/site/ (docs/site.md)")

    listing = commands.add_parser("list", help="list generators, datasets or metrics")
    listing.add_argument("what", choices=("generators", "datasets", "metrics"))
    add_plugin_option(listing)

    data = commands.add_parser("data", help="dataset cards and cache")
    data_commands = data.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    info = data_commands.add_parser("info", help="print a dataset's card, cache status, size and label counts, "
                                                 "or n, p, modality and label counts of a file")
    info.add_argument("dataset_id", metavar="ID|FILE")
    add_file_options(info)
    fetch = data_commands.add_parser("fetch", help="download and verify a dataset's files, or print where to "
                                                   "put them by hand (--offline)")
    fetch.add_argument("dataset_id")
    fetch.add_argument("--offline", action="store_true",
                       help="download nothing: check the files already present and print the URLs and paths")

    check = commands.add_parser("check-generator", help="run the conformance kit on a generator or plugin")
    check.add_argument("name")
    check.add_argument("--budget", choices=("smoke", "default", "paper"), default="smoke")
    add_hparam_option(check)
    add_synthcity_option(check)
    add_plugin_option(check)
    return parser


def add_file_options(parser: argparse.ArgumentParser) -> None:
    """Options that say how to read a user file (shared by ``run`` and ``data info``)."""
    files = parser.add_argument_group("reading your own file")
    files.add_argument("--label-column", "--label", dest="label_column", default=None,
                       help="label column (CSV/TSV/Parquet), obs column (h5ad), for VCF labels "
                            "'population' / 'superpopulation' of a .ped file, or a card's label task "
                            "(tcga: cancer_type|sample_type; gtex: SMTS|SMTSD)")
    files.add_argument("--labels", dest="labels_file", default=None,
                       help="sample→label table for a VCF (two columns, or a 1000 Genomes .ped)")
    files.add_argument("--layer", default=None, help="h5ad layer to read instead of the default matrix")
    files.add_argument("--modality", choices=("expression", "counts", "genotype"), default=None,
                       help="override the inferred modality")
    files.add_argument("--orientation", choices=("samples", "features"), default="samples",
                       help="rows are samples (default) or features (the table is transposed)")
    files.add_argument("--id-column", default=None, help="sample ID column (default: the first column)")
    files.add_argument("--log1p", action="store_true", help="apply log1p to counts or TPM input")
    files.add_argument("--drop-missing", action="store_true",
                       help="drop features with more than 1%% missing values, then samples with any "
                            "(default: missing values are an error)")


def add_hparam_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--hparam", action="append", default=[], metavar="[GENERATOR.]KEY=VALUE",
                        help="override a budget hyperparameter (repeatable): steps=8000 for every selected "
                             "generator that has it, wgan-gp.lr=1e-4 for one; values are Python literals "
                             "(8000, 1e-3, 128,256, None) or text. A run with overrides gets its own records "
                             "and leaderboard row, e.g. 'wgan-gp [steps=8000]'")


def add_synthcity_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--synthcity-python", default=None, metavar="PATH",
                        help=f"Python interpreter of an environment with synthcity, for --generators synthcity:NAME "
                             f"(also ${SYNTHCITY_ENV}; docs/external.md)")


def add_plugin_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--plugin", action="append", default=[], metavar="FILE",
                        help=f"Python file registering generators (repeatable; also ${PLUGIN_ENV}, {os.pathsep}-separated)")


def load_plugins(files: list[str]) -> None:
    from benchmark.registry import load_plugin_file

    from_env = [f for f in os.environ.get(PLUGIN_ENV, "").split(os.pathsep) if f]
    for path in [*from_env, *files]:
        load_plugin_file(path)


def main(argv: list[str] | None = None) -> int:
    from benchmark.provenance import set_command

    args = build_parser().parse_args(argv)
    set_command(list(sys.argv[1:] if argv is None else argv))
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(levelname)s: %(message)s", stream=sys.stderr)
    try:
        if getattr(args, "synthcity_python", None):
            os.environ[SYNTHCITY_ENV] = args.synthcity_python  # read by benchmark.run.external
        if hasattr(args, "plugin"):
            load_plugins(args.plugin)
        return COMMANDS[args.command](args)
    except BenchmarkError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a file or folder that cannot be read or written: one line naming it
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Terminated:
        print("terminated (SIGTERM): running jobs killed; finished records are kept; run the same command "
              "again to resume", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print("interrupted: finished records are kept; run the same command again to resume", file=sys.stderr)
        return 130


def command_run(args: argparse.Namespace) -> int:
    from benchmark.protocols import ProtocolConfig
    from benchmark.run.config import RunConfig
    from benchmark.run.runner import run, sigterm_stops_the_run

    config = RunConfig(
        dataset=args.dataset, generators=args.generators, seeds=args.seeds, budget=args.budget, jobs=args.jobs,
        timeout_s=args.timeout, memory_limit_gb=args.memory_limit, results_dir=args.results, force=args.force,
        split_seed=args.split_seed, min_class_size=args.min_class_size, device=args.device,
        progress=not args.no_progress,
        metrics=None if args.metrics.strip() == "all" else tuple(split_list(args.metrics)),
        knn_k=knn_pair(args.knn_k),
        hparams=tuple(args.hparam),
        executor=args.executor, scheduler=args.scheduler, save_synthetic=args.save_synthetic,
        load=load_options(args, params={"genes": args.genes} if args.genes else None),
        protocol=ProtocolConfig(
            name=args.protocol, biased_labels=tuple(split_list(args.biased_labels)),
            biased_fraction=args.biased_fraction, small_n=tuple(int_list(args.small_n, "--small-n")),
            n_fake=tuple(int_list(args.n_fake, "--n-fake")),
        ),
    )
    with sigterm_stops_the_run():
        summary = run(config)
    print(f"{len(summary.done)} jobs ok, {len(summary.failed)} not ok, {len(summary.skipped)} already done; "
          f"records in {', '.join(str(args.results / folder) for folder in summary.folders)}")
    for label in summary.failed:
        print(f"  not ok: {label} (see its record)")
    for folder in summary.folders:
        print(leaders(args.results, folder))
        print(f"publish with: python -m benchmark publish --results {args.results} --dataset {folder}")
    return summary.exit_code


def load_options(args: argparse.Namespace, params: dict | None = None) -> LoadOptions:
    """How to read the dataset, from the file options of ``add_file_options``."""
    from benchmark.run.config import LoadOptions

    return LoadOptions(label_column=args.label_column, labels_file=args.labels_file, layer=args.layer,
                       modality=args.modality, orientation=args.orientation, id_column=args.id_column,
                       log1p=args.log1p, drop_missing=args.drop_missing, params=params)


def leaders(results: Path, folder: str) -> str:
    """A short table of one results folder, ranked as ``publish`` ranks: the best generator per ranked
    family, the overall leader, and every generator's privacy verdict."""
    from tabulate import tabulate

    from benchmark.leaderboard import Board
    from benchmark.ranking import UNRANKED_FAMILIES
    from benchmark.store import iter_records

    records = list(iter_records(results, folder))
    if not records:
        return f"{folder}: no records"
    board = Board.from_records(records, folder)
    ranking = board.ranking
    rows = []
    for family, ranks in ranking.family_ranks.items():
        if family in UNRANKED_FAMILIES:
            continue
        best = min(ranks.values())
        rows.append([family, ", ".join(sorted(g for g, r in ranks.items() if r == best)), f"{best:g}"])
    if ranking.order:
        rows.append(["overall", ranking.order[0], ""])
    verdicts = {}
    for name, verdict in sorted(board.verdicts.items()):
        verdicts.setdefault(verdict.label, []).append(name)
    for label in ("leak", "risk", "pass", "not assessed"):
        if label in verdicts:
            rows.append([f"privacy: {label}", ", ".join(verdicts[label]), ""])
    if not rows:
        return f"{folder}: no generator has rankable scores"
    return (f"{folder}: leaders (mean rank in the family, 1 = best; leaks ranked last)\n"
            + tabulate(rows, headers=("family", "leader", "rank")))


def knn_pair(text: str) -> tuple[int, int]:
    values = int_list(text, "--knn-k")
    if len(values) != 2 or not all(1 <= k <= 10 for k in values):
        raise ConfigError(f"--knn-k takes two neighbour counts in 1..10, e.g. 3,5; got {text!r}")
    return values[0], values[1]


def split_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def int_list(text: str, option: str) -> list[int]:
    try:
        return [int(part) for part in split_list(text)]
    except ValueError:
        raise ConfigError(f"{option} takes comma-separated integers, got {text!r}") from None


def command_score(args: argparse.Namespace) -> int:
    from benchmark.run.score import command_score as score_file

    return score_file(args)


def command_publish(args: argparse.Namespace) -> int:
    from benchmark.leaderboard import publish

    for path in publish(args.results, args.out, args.dataset):
        print(path)
    if args.html:
        from benchmark.publish.site import write_site

        for path in write_site(args.out):
            print(path)
    return 0


def command_list(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    if args.what == "generators":
        from benchmark.registry import PRIVACY_CONTROLS, all_generators, plugin_errors

        rows = [(name, ", ".join(sorted(cls.modalities)), first_line(cls.__doc__)
                 + (" [privacy control, not ranked]" if name in PRIVACY_CONTROLS else ""))
                for name, cls in all_generators().items()]
        print(tabulate(rows, headers=("generator", "modalities", "description")))
        for plugin, error in plugin_errors().items():
            print(f"plugin {plugin} failed to load: {error}", file=sys.stderr)
    elif args.what == "datasets":
        from benchmark.cards import list_cards

        rows = [(card.id, card.modality, card.title) for card in list_cards()]
        print(tabulate(rows, headers=("dataset", "modality", "title")))
        print("\nor a file: .h5ad, .csv, .tsv, .parquet, .vcf, .vcf.gz (see docs/datasets.md)")
    else:
        from metrics import list_metrics

        rows = [(m["name"], m["family"], ", ".join(sorted(m["modalities"])), ", ".join(m["scores"]))
                for m in list_metrics()]
        print(tabulate(rows, headers=("metric", "family", "modalities", "scores")))
    return 0


def command_data(args: argparse.Namespace) -> int:
    if args.data_command == "info":
        from benchmark.data_info import describe_dataset

        print(describe_dataset(args.dataset_id, load_options(args)))
        return 0
    from benchmark.cards import get_card
    from benchmark.download import fetch_dataset, fetch_instructions, missing_files

    if args.offline:
        print(fetch_instructions(args.dataset_id))
        return 1 if missing_files(get_card(args.dataset_id)) else 0
    for path in fetch_dataset(args.dataset_id):
        print(f"ok: {path}")
    return 0


def command_check(args: argparse.Namespace) -> int:
    from benchmark.conformance import check_generator
    from benchmark.hparams import overrides_for
    from benchmark.registry import get_generator

    cls = get_generator(args.name)  # external:gen.toml registers its generator under its own name
    overrides = overrides_for(args.hparam, {cls.name: cls}, args.budget)[cls.name]
    report = check_generator(args.name, budget=args.budget, hparams=overrides)
    print(report.render())
    return 0 if report.passed else 1


def first_line(text: str | None) -> str:
    return (text or "").strip().splitlines()[0] if text and text.strip() else ""


COMMANDS = {
    "run": command_run,
    "score": command_score,
    "publish": command_publish,
    "list": command_list,
    "data": command_data,
    "check-generator": command_check,
}
