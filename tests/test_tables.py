import pytest

from lenet_utils.tables import markdown_table


def test_list_of_rows_with_formats():
    rows = [{"variant": "max", "params": 61706, "acc": 0.9381}, {"variant": "avg", "params": 61706, "acc": 0.91}]
    assert markdown_table(rows, {"acc": ".1%"}).splitlines() == [
        "| variant | params | acc |", "| --- | --- | --- |", "| max | 61,706 | 93.8% |", "| avg | 61,706 | 91.0% |"]


def test_dict_of_rows_with_index_name():
    text = markdown_table({"C1": {"params": 156, "acc": 0.91234}, "C3": {"params": 1516}}, "layer")
    assert text.splitlines() == ["| layer | params | acc |", "| --- | --- | --- |", "| C1 | 156 | 0.9123 |",
                                 "| C3 | 1,516 |  |"]


def test_empty_rows_are_refused():
    with pytest.raises(ValueError, match="rows is empty"):
        markdown_table([])
    with pytest.raises(ValueError, match="rows is empty"):
        markdown_table({})
