"""Splitting text into top-level blocks: exact ranges whatever the text holds."""

from __future__ import annotations

import pytest

from tfguard.hcl.blocks import Block, split_blocks
from tfguard.model import Span


def rng(span: Span) -> tuple[int, int, int, int]:
    return (span.start.line, span.start.character, span.end.line, span.end.character)


def headers(text: str) -> list[tuple[str, tuple[str, ...], tuple[int, int, int, int]]]:
    return [(b.kind, b.labels, rng(b.span)) for b in split_blocks(text).blocks]


def only(text: str) -> Block:
    blocks = [b for b in split_blocks(text).blocks if b.kind]
    assert len(blocks) == 1, blocks
    return blocks[0]


def test_two_blocks_have_exact_ranges_and_header_spans() -> None:
    text = (
        'resource "aws_s3_bucket" "b" {\n'
        '  bucket = "x"\n'
        "}\n"
        "\n"
        'variable "v" {}\n'
    )
    split = split_blocks(text)
    assert headers(text) == [
        ("resource", ("aws_s3_bucket", "b"), (0, 0, 2, 1)),
        ("variable", ("v",), (4, 0, 4, 15)),
    ]
    b = split.blocks[0]
    assert rng(b.header_span) == (0, 0, 0, 30)
    assert b.start_line == 1 and b.end_line == 3
    assert b.address == "aws_s3_bucket.b"
    assert b.text == text[: text.index("}\n") + 1]


def test_attributes_and_nested_blocks_are_located() -> None:
    text = 'resource "a" "b" {\n  x = "}{"\n  tags = {\n    k = "v"\n  }\n  nested {\n    y = 1\n  }\n}\n'
    b = only(text)
    items = {i.path: (rng(i.span), rng(i.name_span), i.is_block) for i in b.items}
    assert items == {
        ("x",): ((1, 2, 1, 10), (1, 2, 1, 3), False),
        ("tags",): ((2, 2, 4, 3), (2, 2, 2, 6), False),
        ("tags", "k"): ((3, 4, 3, 11), (3, 4, 3, 5), False),
        ("nested",): ((5, 2, 7, 3), (5, 2, 5, 8), True),
        ("nested", "y"): ((6, 4, 6, 9), (6, 4, 6, 5), False),
    }


@pytest.mark.parametrize(
    "body",
    [
        pytest.param('  policy = <<EOF\n{ "a": { "b": 1 }\n}\n}\nEOF\n', id="heredoc-with-braces"),
        pytest.param('  policy = <<-EOT\n    }}}\n    EOT\n', id="indented-heredoc"),
        pytest.param("  # a } brace in a hash comment\n", id="hash-comment"),
        pytest.param("  // a } brace in a slash comment\n", id="slash-comment"),
        pytest.param("  /* a } brace\n  } in a block comment { */\n", id="block-comment"),
        pytest.param('  name = "a } b { c"\n', id="string-with-braces"),
        pytest.param('  name = "${ {a = "}"}["a"] }-x"\n', id="template-with-nested-string"),
        pytest.param('  name = "%{ if true }}%{ endif }"\n', id="template-directive"),
        pytest.param('  name = "escaped \\" } quote"\n', id="escaped-quote"),
        pytest.param("\tname\t=\t\"tabs\"\n", id="tabs"),
        pytest.param('  name = "ünïcødé 🚀 }"\n', id="non-ascii"),
    ],
)
def test_braces_inside_strings_comments_and_heredocs_do_not_end_the_block(body: str) -> None:
    text = 'resource "a" "b" {\n' + body + "}\n" + 'resource "c" "d" {\n}\n'
    blocks = split_blocks(text).blocks
    assert [(b.kind, b.labels) for b in blocks] == [("resource", ("a", "b")), ("resource", ("c", "d"))]
    first_end_line = text.count("\n", 0, text.index("}\nresource"))
    assert rng(blocks[0].span) == (0, 0, first_end_line, 1)
    assert rng(blocks[1].span) == (first_end_line + 1, 0, first_end_line + 2, 1)
    assert all(b.closed for b in blocks)


def test_columns_count_code_points_after_non_ascii_text() -> None:
    text = 'resource "a" "b" {\n  tags = { name = "ü🚀" }\n  acl = "x"\n}\n'
    b = only(text)
    assert rng(b.item(("acl",)).span) == (2, 2, 2, 11)  # type: ignore[union-attr]
    line = text.splitlines()[1]
    name = b.item(("tags", "name"))
    assert name is not None
    assert line[name.span.start.character : name.span.end.character] == 'name = "ü🚀"'


def test_crlf_line_endings_keep_lines_and_columns() -> None:
    text = 'resource "a" "b" {\r\n  acl = "x"\r\n}\r\nresource "c" "d" {\r\n}\r\n'
    blocks = split_blocks(text).blocks
    assert [rng(b.span) for b in blocks] == [(0, 0, 2, 1), (3, 0, 4, 1)]
    acl = blocks[0].item(("acl",))
    assert acl is not None and rng(acl.span) == (1, 2, 1, 11)


def test_bom_does_not_shift_the_first_block() -> None:
    text = '\ufeffresource "a" "b" {\n}\n'
    b = only(text)
    assert b.kind == "resource" and b.labels == ("a", "b")
    assert rng(b.span) == (0, 1, 1, 1)  # column 1: after the BOM code point, as the editor counts it


def test_unclosed_block_stops_before_the_next_top_level_header() -> None:
    text = 'resource "a" "b" {\n  acl = "x"\n\nresource "c" "d" {\n  acl = "y"\n}\n'
    blocks = split_blocks(text).blocks
    assert [(b.labels, b.closed) for b in blocks] == [(("a", "b"), False), (("c", "d"), True)]
    assert rng(blocks[0].span) == (0, 0, 1, 11)
    assert rng(blocks[1].span) == (3, 0, 5, 1)


def test_unterminated_heredoc_swallows_the_rest_but_never_raises() -> None:
    text = 'resource "a" "b" {\n  p = <<EOF\n  {\n'
    blocks = split_blocks(text).blocks
    assert len(blocks) == 1 and not blocks[0].closed


def test_top_level_attributes_and_junk_are_items_of_their_own() -> None:
    text = 'region = "eu-west-1"\n@@@ junk\nvariable "v" {}\n'
    assert [(b.kind, rng(b.span)) for b in split_blocks(text).blocks] == [
        ("attribute", (0, 0, 0, 20)),
        ("", (1, 0, 1, 8)),
        ("variable", (2, 0, 2, 15)),
    ]


def test_empty_and_comment_only_text_has_no_blocks() -> None:
    assert split_blocks("").blocks == ()
    assert split_blocks("# nothing\n// here\n/* at\nall */\n").blocks == ()


def test_precomputed_brace_matches_equal_the_linear_scan(monkeypatch) -> None:
    """Deep unclosed nesting (what the fuzzer's 10,000-input run timed out on: 32 levels each
    scanning to the end) splits the same with the precomputed brace table as with the scan."""
    import tfguard.hcl.blocks as blocks_mod

    text = ('resource "aws_s3_bucket" "deep" {\n' + "a {\n" * 3000 + "  x = 1\n" + "}\n" * 40
            + 'resource "aws_s3_bucket" "next" {\n  b {\n    c = "' + "y" * 5000 + '"\n  }\n}\n')
    fast = blocks_mod.split_blocks(text)

    def match_by_scan(toks, open_k, stop):  # type: ignore[no-untyped-def]
        """The reference: count braces from ``open_k`` (quadratic on deep unclosed nesting)."""
        depth = 0
        for k in range(open_k, stop):
            if toks[k].kind is blocks_mod.Tok.LBRACE:
                depth += 1
            elif toks[k].kind is blocks_mod.Tok.RBRACE:
                depth -= 1
                if depth == 0:
                    return k
        return stop

    monkeypatch.setattr(blocks_mod, "_match_nested", match_by_scan)
    slow = blocks_mod.split_blocks(text)
    assert fast.blocks == slow.blocks
    assert [b.items for b in fast.blocks] == [b.items for b in slow.blocks]
    assert any(b.labels == ("aws_s3_bucket", "next") for b in fast.blocks)
