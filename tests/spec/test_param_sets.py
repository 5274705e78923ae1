"""`--params-file` and `--param-set`: whatever bytes a parameter file holds, it gives
parameter sets or one located, one-line error; an empty file is an error, never one run
with the defaults."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from podium.spec.param_sets import ParamSetError, read_param_sets


def test_each_format_gives_its_sets_in_order(tmp_path: Path) -> None:
    (tmp_path / "s.jsonl").write_text('{"region": "eu"}\n\n{"region": "us", "n": 2}\n')
    (tmp_path / "s.json").write_text('[{"region": "ap"}]')
    (tmp_path / "s.csv").write_text("region,n\neu,1\n")
    assert read_param_sets(tmp_path / "s.jsonl", ['{"flag": true}']) == [
        {"region": "eu"}, {"region": "us", "n": "2"}, {"flag": "true"}]
    assert read_param_sets(tmp_path / "s.json", []) == [{"region": "ap"}]
    assert read_param_sets(tmp_path / "s.csv", []) == [{"region": "eu", "n": "1"}]


@pytest.mark.parametrize(("name", "content", "where", "says"), [
    ("empty.jsonl", b"", "empty.jsonl:", "no parameter sets in the file"),
    ("blank.jsonl", b"\n  \n", "blank.jsonl:", "no parameter sets in the file"),
    ("header.csv", b"region\n", "header.csv:", "no parameter sets in the file"),
    ("none.json", b"[]", "none.json:", "no parameter sets in the file"),
    ("latin1.jsonl", b'{"city": "x"}\n{"city": "M\xfcnchen"}\n', "latin1.jsonl:2:1",
     "not UTF-8 text"),
])
def test_an_empty_or_undecodable_file_is_a_located_error(
        tmp_path: Path, name: str, content: bytes, where: str, says: str) -> None:
    (tmp_path / name).write_bytes(content)
    with pytest.raises(ParamSetError) as raised:
        read_param_sets(tmp_path / name, [])
    assert where in str(raised.value) and says in str(raised.value)


@settings(max_examples=200, deadline=None)
@given(content=st.binary(max_size=80), suffix=st.sampled_from([".jsonl", ".json", ".csv"]))
@example(content=b"\xff\xfe", suffix=".jsonl")
def test_any_file_gives_sets_or_one_located_line(tmp_path_factory: pytest.TempPathFactory,
                                                 content: bytes, suffix: str) -> None:
    path = tmp_path_factory.mktemp("sets") / f"p{suffix}"
    path.write_bytes(content)
    try:
        sets = read_param_sets(path, [])
    except ParamSetError as exc:
        assert str(exc).startswith(str(path)) and "\n" not in str(exc)
    else:
        assert sets and all(isinstance(k, str) and isinstance(v, str)
                            for one in sets for k, v in one.items())
