"""Moving a shipped package's imports into the functions that use them: the code does what it
did, and any code where moving would change that stops the build."""

from __future__ import annotations

import sys
import textwrap
import types

import pytest

from tools.deferred_imports import DeferError, defer_imports

CERTIFICATES = textwrap.dedent(
    '''\
    """Loads certificates."""
    from typing import Optional
    from json import loads as parse_json
    from json.decoder import JSONDecodeError, JSONDecoder

    LIMIT = 3


    def load(text: str, strict: Optional[bool] = None) -> object:
        """Reads `text`."""
        try:
            return parse_json(text)
        except JSONDecodeError:
            return None


    class Reader:
        kind = "json"

        def decoder(self) -> object:
            def inner() -> object:
                return JSONDecoder()
            return inner()

        async def later(self) -> None: pass
    '''
)


def module_from(source: str) -> types.ModuleType:
    module = types.ModuleType("deferred_example")
    exec(compile(source, "deferred_example", "exec"), module.__dict__)
    return module


def test_the_imports_move_into_the_functions_that_use_them_and_the_code_still_works() -> None:
    result = defer_imports(CERTIFICATES, ("json",))

    module = module_from(result)

    assert not {"parse_json", "JSONDecodeError", "JSONDecoder"} & set(vars(module))
    assert module.load('{"a": 1}') == {"a": 1} and module.load("{") is None
    assert module.load.__doc__ == "Reads `text`."
    assert type(module.Reader().decoder()).__name__ == "JSONDecoder"
    # Each function gets only the imports it uses, after its docstring, at its indentation.
    assert "    from json import loads as parse_json\n" in result
    assert result.count("from json.decoder import JSONDecodeError, JSONDecoder") == 2
    assert "        from json.decoder import JSONDecodeError, JSONDecoder\n" in result
    assert result.startswith('"""Loads certificates."""\nfrom typing import Optional\n\n')


def test_a_module_that_only_imports_its_own_names_loads_nothing_listed() -> None:
    source = (
        "import colorsys as colours\ndef hue(r, g, b):\n    return colours.rgb_to_hsv(r, g, b)\n"
    )
    sys.modules.pop("colorsys", None)

    module = module_from(defer_imports(source, ("colorsys",)))

    assert "colorsys" not in sys.modules
    assert module.hue(1, 0, 0) == (0.0, 1.0, 1)
    assert "colorsys" in sys.modules


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("import json\nDUMP = json.dumps\n", "'json' is used when the module runs"),
        ("import json\nclass A:\n    dump = json.dumps\n", "'json' is used when the module runs"),
        ("import json\n@json.loads\ndef f():\n    pass\n", "'json' is used when the module runs"),
        ("import json\ndef f(x=json.dumps):\n    pass\n", "'json' is used when the module runs"),
        ("import json\ndef f(x: json.JSONDecoder):\n    pass\n", "'json' is used when the mod"),
        ("from json import *\n", "a star import cannot move"),
        ("import json, os\n", "one import names listed and other modules"),
        ("import json; import os\ndef f():\n    return json\n", "the import shares its line"),
        ("import json\ndef f(): return json\n", "f's body shares a line"),
        ("import json\ndef f():\n    global json\n    json = 1\n", "'json' is declared global"),
        ("import os\n", "no top-level import of json to move"),
    ],
)
def test_an_import_that_cannot_move_without_changing_the_code_stops_the_build(
    source: str, reason: str
) -> None:
    with pytest.raises(DeferError) as raised:
        defer_imports(source, ("json",), "pkg/mod.py")
    assert str(raised.value).startswith("pkg/mod.py: line") or "no top-level" in str(raised.value)
    assert reason in str(raised.value)


def test_postponed_annotations_may_name_a_moved_import() -> None:
    source = (
        "from __future__ import annotations\nimport json\n"
        "def f(x: json.JSONDecoder) -> json.JSONDecoder:\n    return json.JSONDecoder()\n"
    )

    module = module_from(defer_imports(source, ("json",)))

    assert type(module.f(None)).__name__ == "JSONDecoder"
