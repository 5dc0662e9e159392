"""`ragate`: index folders, search them, inspect and serve the index. Logs go to stderr; stdout
carries only results (and, under `serve`, only MCP protocol messages)."""

from __future__ import annotations

import logging
import os
import sys

from pydantic import ValidationError

from ragate.retrieval.errors import RagateError
from ragate.server.cli.parser import build_parser
from ragate.server.config import Settings
from ragate.server.settings_loader import load_settings
from ragate.server.tracing import configure_from_environment as configure_tracing
from ragate.server.validation import validation_message

# How the command line reports an error, by its kind: exit status and first words. Any other
# kind is the caller's to fix: status 2, as for a refused flag.
ERROR_EXITS: dict[str, tuple[int, str]] = {
    "internal": (70, "internal error (a bug in ragate, not in what you asked; the index service's log has it)"),  # EX_SOFTWARE
}
CALLERS_ERROR = (2, "error")


def setup_logging(verbosity: int) -> None:
    level = logging.WARNING - 10 * verbosity
    logging.basicConfig(level=max(level, logging.DEBUG), stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    # Libraries' own chatter (download bars, load reports) stays out of the way unless asked for.
    for noisy in ("sentence_transformers", "transformers", "httpx", "huggingface_hub", "urllib3"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING) if verbosity < 2 else logging.DEBUG)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if verbosity < 2:
        # Read by transformers and huggingface_hub when they load, here and in the index service this starts.
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(args.verbose)
    configure_tracing()
    try:
        # `init` writes the config file, so it cannot read one first.
        settings = load_settings(args.config) if args.reads_config else Settings()
        code = args.func(args, settings)
        sys.stdout.flush()  # here, so a reader that went away is met below and not at exit
        return code
    except RagateError as e:
        code, words = ERROR_EXITS.get(e.kind, CALLERS_ERROR)
        print(f"ragate: {words}: {e}", file=sys.stderr)
        return code
    except ValidationError as e:  # a request model refused what the flags said
        code, words = CALLERS_ERROR
        print(f"ragate: {words}: {validation_message(e)}", file=sys.stderr)
        return code
    except KeyboardInterrupt:
        print("ragate: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader closed early (`ragate search ... | head`): stop quietly, as other commands do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # the exit flush then goes nowhere
        return 141  # 128 + SIGPIPE, what a shell reports for a command its pipe reader cut off


if __name__ == "__main__":
    sys.exit(main())
