"""YAML from a repository, read with a budget: a file cannot make tfguard exhaust memory or time.

PyYAML's ``SafeLoader`` constructs no objects of its own choosing, but it shares aliased nodes: a
"billion laughs" file of a few hundred bytes (``b: [*a, *a, ...]``, ``c: [*b, *b, ...]``) composes
cheaply and then explodes in whatever walks the result (a list flattened, a value printed). And a
deeply nested flow collection (``[[[[...``) makes PyYAML recurse until Python's stack gives out.

:class:`BudgetLoader` counts, while composing, how many nodes the document would hold with every
alias expanded, the aliases themselves and the nesting depth, and raises :class:`YAMLBudgetError`
(a located :class:`yaml.MarkedYAMLError`) past :data:`MAX_ALIASES`, :data:`MAX_ALIAS_NODES` or
:data:`MAX_DEPTH`. The bytes of a configuration file are capped before (:data:`MAX_CONFIG_BYTES`,
see :func:`tfguard.files.read_regular`), so the plain node count is bounded too.

Every YAML read of tfguard's own configuration files goes through :func:`safe_load`,
:func:`compose` or :func:`loader`; :func:`read_config_text` is how those files are opened.
"""

from __future__ import annotations

import json
import os
import re
from typing import IO, Any

import yaml

from tfguard.files import MAX_CONFIG_BYTES, FileRefused, read_regular, repository_root

MAX_ALIASES = 1_000  # alias references (``*name``) in one document (an anchor reused per catalogue entry)
MAX_ALIAS_NODES = 10_000  # nodes the aliases would add if expanded
MAX_DEPTH = 64  # nesting of collections

_KEY_LIKE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
QUOTE_LIMIT = 40
_LONG_QUOTED = re.compile("'[^']{%d,}'|\"[^\"]{%d,}\"" % (QUOTE_LIMIT + 1, QUOTE_LIMIT + 1))  # noqa: UP031


class YAMLBudgetError(yaml.MarkedYAMLError):
    """A document over the alias, expansion or depth budget (located at the node that crossed it)."""


class BudgetLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses documents over the alias/expansion/depth budget."""

    def __init__(self, stream: str | bytes | IO[str] | IO[bytes]) -> None:
        super().__init__(stream)
        self._aliases = 0
        self._alias_nodes = 0
        self._depth = 0
        self._sizes: dict[int, tuple[yaml.Node, int]] = {}  # id(node) -> (node, expanded size)
        self._charged = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:  # type: ignore[override]
        """Compose one node, charging what it would cost with its aliases expanded."""
        mark = self.peek_event().start_mark
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise YAMLBudgetError(problem=f"more than {MAX_ALIASES} aliases: refused (a YAML alias bomb?)",
                                      problem_mark=mark)
            node = super().compose_node(parent, index)
            size = self._sizes.get(id(node), (node, 1))[1]
            self._alias_nodes += size
            self._charged += size
            if self._alias_nodes > MAX_ALIAS_NODES:
                raise YAMLBudgetError(problem=f"aliases expand to more than {MAX_ALIAS_NODES} nodes: refused "
                                              "(a YAML alias bomb?)", problem_mark=mark)
            return node
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise YAMLBudgetError(problem=f"nested more than {MAX_DEPTH} levels deep: refused", problem_mark=mark)
        before = self._charged
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        self._charged += 1
        if node is not None and not isinstance(node, yaml.ScalarNode):
            self._sizes[id(node)] = (node, self._charged - before)
        return node

    def dispose(self) -> None:
        """Drop what composing kept (anchors and the size table)."""
        self._sizes.clear()
        super().dispose()


def loader(text: str) -> BudgetLoader:
    """A budgeted loader over ``text`` (the caller disposes it)."""
    return BudgetLoader(text)


def safe_load(stream: str | bytes | IO[str] | IO[bytes]) -> Any:
    """``yaml.safe_load`` with the budget; raises :class:`yaml.YAMLError` (YAMLBudgetError included)."""
    ld = BudgetLoader(stream)
    try:
        return ld.get_single_data()
    finally:
        ld.dispose()


def compose(stream: str | bytes | IO[str] | IO[bytes]) -> yaml.Node | None:
    """``yaml.compose`` with the budget."""
    ld = BudgetLoader(stream)
    try:
        return ld.get_single_node()
    finally:
        ld.dispose()


def yaml_error_message(e: yaml.YAMLError) -> str:
    """What went wrong, without quoting the file (``str(e)`` would include a snippet of the line)."""
    problem = getattr(e, "problem", None)
    if isinstance(problem, str) and problem:  # "found undefined alias 'name'": the name is cut short
        return _LONG_QUOTED.sub(lambda m: quote(m.group(0)[1:-1]), problem)[:120]
    return type(e).__name__


def read_config_text(path: str, root: str | None = None, max_bytes: int = MAX_CONFIG_BYTES) -> str:
    """The text of a configuration file (``.tfguard.yaml``, ``.checkov.yaml``, catalogue, policy).

    Only a regular file of at most ``max_bytes`` inside ``root`` (after resolving symlinks; ``None``:
    the file's own repository root) is read, without blocking; UTF-8 with an optional BOM. Raises
    :class:`~tfguard.files.FileRefused` saying why not.
    """
    data = read_regular(path, max_bytes, root=root if root is not None else repository_root(path))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise FileRefused(f"not valid UTF-8 at byte {e.start}: not read") from None


def quote(token: object, limit: int = QUOTE_LIMIT) -> str:
    """``repr`` of a token from a file, cut at ``limit`` characters (with an ellipsis)."""
    text = str(token)
    if len(text) > limit:
        return repr(text[:limit]) + "…"
    return repr(text)


def key_text(key: object) -> str:
    """How a message names a key read from a file: quoted when it looks like a key, else "an unknown key".

    A file that is not configuration at all (a password file named as the catalogue) must not have its
    content echoed back as "unknown key 'root:*:...'".
    """
    text = str(key)
    return f"key {text!r}" if _KEY_LIKE.match(text) else "an unknown key"


POLICY_SUFFIXES = (".yaml", ".yml", ".json")  # what Checkov's registry loads from a policy folder
MAX_POLICY_FILES = 2_000


def policy_dir_problems(directory: str, root: str | None = None) -> list[str]:
    """Why a folder of YAML/JSON policies must not be handed to Checkov (empty: it may be).

    Checkov's registry opens every ``*.yaml``/``*.yml``/``*.json`` under the folder with a plain
    ``open`` and ``yaml.safe_load`` and then copies the result through JSON: a FIFO there would hang
    it, a symlink would read outside the repository and an alias bomb would exhaust memory. Each file
    is read here first as :func:`read_config_text` reads (inside ``root``, default the folder's
    repository root) and parsed with the budget; any problem refuses the folder, one line per file.
    """
    top = root if root is not None else repository_root(directory)
    problems: list[str] = []
    seen = 0
    for dirpath, dirnames, filenames in os.walk(directory):
        dirnames.sort()
        for name in sorted(filenames):
            if os.path.splitext(name)[1] not in POLICY_SUFFIXES:
                continue
            path = os.path.join(dirpath, name)
            seen += 1
            if seen > MAX_POLICY_FILES:
                return [*problems, f"policy folder {directory}: more than {MAX_POLICY_FILES} policy files: not loaded"]
            try:
                text = read_config_text(path, top)
                if name.endswith(".json"):
                    json.loads(text)
                else:
                    safe_load(text)
            except FileRefused as e:
                problems.append(f"policy {path}: {e.message}; the folder is not loaded")
            except yaml.YAMLError as e:
                mark = getattr(e, "problem_mark", None)
                where = f":{mark.line + 1}" if mark is not None else ""
                problems.append(f"policy {path}{where}: invalid YAML: {yaml_error_message(e)}; "
                                "the folder is not loaded")
            except (ValueError, RecursionError):
                problems.append(f"policy {path}: invalid JSON; the folder is not loaded")
    return problems


__all__ = [
    "MAX_ALIASES",
    "MAX_ALIAS_NODES",
    "MAX_CONFIG_BYTES",
    "MAX_DEPTH",
    "BudgetLoader",
    "YAMLBudgetError",
    "compose",
    "key_text",
    "loader",
    "policy_dir_problems",
    "quote",
    "read_config_text",
    "safe_load",
    "yaml_error_message",
]
