"""The attack scripts: (name, place, code, outcome, words the refusal or error must contain).

``outcome`` is ``deploy`` (the deploy refuses the diagram, naming the element) or ``error``
(the case stops in the error state at the element, within the time limit).
"""

from __future__ import annotations

from typing import NamedTuple

LOOP_FOREVER = "while True: pass"
QUADRILLION = "[i for i in range(10**5) for j in range(10**5)]"
#: A tuple of 10**5 references to one tuple of 10**5 items: small in memory, 10**10 to hash.
WIDE_TUPLE = "a = [1] * 100000\nt = tuple([tuple(a)] * 100000)\n"
#: A tuple nested 10**6 levels deep: hashing it recurses in C with no depth check.
DEEP_TUPLE = "t = ()\nfor i in range(10**6):\n    t = (t,)\n"
#: Two equal but distinct lists of 60 × 10**4 × 10**4 items: sized one level deep as 60 items.
TWIN_CUBES = "x = [[[0] * 10000] * 10000] * 60\ny = [[[0] * 10000] * 10000] * 60\n"
#: What stops a C-level bomb: the script process's hard time limit, or the in-process limit
#: the script process reaches first.
STOPPED = "AFTERFLOW_SCRIPT_"


class Attack(NamedTuple):
    name: str
    place: str
    code: str
    outcome: str
    words: str


ATTACKS: list[Attack] = [
    # --- catching the time limit ---------------------------------------------------------------
    Attack(
        "mro_catches_limit",
        "script",
        f"try:\n    {LOOP_FOREVER}\nexcept Exception.mro()[1]:\n    {LOOP_FOREVER}",
        "error",
        "'.mro' of a type",
    ),
    Attack(
        "bare_except",
        "script",
        f"try:\n    {LOOP_FOREVER}\nexcept:\n    {LOOP_FOREVER}",
        "error",
        "AFTERFLOW_SCRIPT_TIME_LIMIT",
    ),
    Attack(
        "except_base_exception",
        "script",
        f"try:\n    {LOOP_FOREVER}\nexcept BaseException:\n    {LOOP_FOREVER}",
        "deploy",
        "'BaseException' is not available",
    ),
    Attack(
        "computed_class",
        "script",
        f"k = [ValueError, Exception][1]\ntry:\n    {LOOP_FOREVER}\nexcept k:\n    {LOOP_FOREVER}",
        "error",
        "AFTERFLOW_SCRIPT_TIME_LIMIT",
    ),
    Attack(
        "computed_tuple",
        "script",
        f"k = (ValueError, Exception)\ntry:\n    {LOOP_FOREVER}\nexcept k as e:\n    {LOOP_FOREVER}",
        "error",
        "AFTERFLOW_SCRIPT_TIME_LIMIT",
    ),
    Attack(
        "except_system_exit",
        "script",
        f"try:\n    {LOOP_FOREVER}\nexcept SystemExit:\n    pass",
        "deploy",
        "'SystemExit' is not available",
    ),
    Attack(
        "except_non_class",
        "script",
        f"try:\n    x = 1 / 0\nexcept len:\n    {LOOP_FOREVER}",
        "error",
        "'except' may only name exception classes",
    ),
    Attack(
        "finally_runs_on",
        "script",
        f"try:\n    {LOOP_FOREVER}\nfinally:\n    {LOOP_FOREVER}",
        "deploy",
        "'finally' blocks are not allowed",
    ),
    Attack(
        "recursion_then_loop",
        "script",
        f"def f(n):\n    try:\n        return f(n + 1)\n    except RuntimeError:\n        {LOOP_FOREVER}\nx = f(0)",
        "error",
        "AFTERFLOW_SCRIPT_TIME_LIMIT",
    ),
    Attack(
        "except_group", "script", "try:\n    x = 1\nexcept* ValueError:\n    pass", "deploy", "not allowed"
    ),
    # --- the type hierarchy and dunders ---------------------------------------------------------
    Attack("mro_read", "script", "x = Exception.mro()", "error", "'.mro' of a type"),
    Attack("base_via_dunder", "script", "x = Exception.__base__", "deploy", "names starting with '_'"),
    Attack(
        "subclasses",
        "script",
        "x = ().__class__.__base__.__subclasses__()",
        "deploy",
        "names starting with '_'",
    ),
    Attack("class_of_int", "script", "x = (1).__class__", "deploy", "names starting with '_'"),
    Attack("fstring_dunder", "script", "x = f'{(1).__class__}'", "deploy", "names starting with '_'"),
    Attack(
        "function_code",
        "script",
        "def f():\n    return 1\nx = f.__code__",
        "deploy",
        "names starting with '_'",
    ),
    Attack(
        "function_globals",
        "script",
        "def f():\n    return 1\nx = f.func_globals",
        "error",
        "not available in scripts",
    ),
    Attack("method_self", "script", "m = 'a'.upper\nx = m.self", "error", "not available in scripts"),
    Attack("dict_view_mapping", "script", "x = {}.keys().mapping", "error", "not available in scripts"),
    Attack("builtins_name", "script", "x = __builtins__", "deploy", "names starting with '_'"),
    # --- str.format traversal --------------------------------------------------------------------
    Attack(
        "format_traversal",
        "script",
        "x = '{0.__class__.__base__}'.format(1)",
        "error",
        "'.format' is not allowed",
    ),
    Attack(
        "format_map_traversal",
        "script",
        "x = '{a.__class__}'.format_map({'a': 1})",
        "error",
        "'.format' is not allowed",
    ),
    Attack("format_builtin", "script", "x = format(1, '>999999999')", "deploy", "'format' is not available"),
    # --- generators and frames -------------------------------------------------------------------
    Attack(
        "gi_frame",
        "script",
        "g = (i for i in range(3))\nx = g.gi_frame",
        "deploy",
        "'gi_frame' is not allowed",
    ),
    Attack(
        "gi_code", "script", "g = (i for i in range(3))\nx = g.gi_code", "deploy", "'gi_code' is not allowed"
    ),
    Attack(
        "generator_send",
        "script",
        "g = (i for i in range(3))\nx = g.send",
        "error",
        "not available in scripts",
    ),
    Attack(
        "yield_generator",
        "script",
        "def f():\n    yield 1\nx = list(f())",
        "deploy",
        "'yield' is not allowed",
    ),
    # --- lookalike identifiers (NFKC) -------------------------------------------------------------
    Attack("fullwidth_eval", "script", "ｘ = ｅｖａｌ('1')", "deploy", "'eval' is not available"),
    Attack("fullwidth_dunder_import", "script", "x = ＿＿import＿＿('os')", "deploy", "syntax error"),
    Attack("lookalike_dunder_import", "script", "x = _\u200b_import__('os')", "deploy", "syntax error"),
    Attack("fullwidth_mro", "script", "x = Exception.ｍｒｏ()", "error", "'.mro' of a type"),
    Attack("math_bold_open", "script", "x = 𝐨𝐩𝐞𝐧('/etc/passwd')", "deploy", "'open' is not available"),
    # --- reaching the outside ---------------------------------------------------------------------
    Attack("import_os", "script", "import os", "deploy", "imports are not allowed"),
    Attack("open_file", "script", "x = open('/etc/passwd').read()", "deploy", "'open' is not available"),
    Attack("type_builtin", "script", "x = type(1)", "deploy", "'type' is not available"),
    Attack("globals_builtin", "script", "x = globals()", "deploy", "'globals' is not available"),
    # --- CPU bombs --------------------------------------------------------------------------------
    Attack("endless_loop", "script", LOOP_FOREVER, "error", "AFTERFLOW_SCRIPT_TIME_LIMIT"),
    Attack(
        "counting_loop", "script", "x = 0\nwhile True:\n    x = x + 1", "error", "AFTERFLOW_SCRIPT_TIME_LIMIT"
    ),
    Attack("nested_comprehension", "script", f"x = len({QUADRILLION})", "error", "AFTERFLOW_SCRIPT_"),
    Attack(
        "generator_sum",
        "script",
        "x = sum(i for i in range(10**5) for j in range(10**5))",
        "error",
        "AFTERFLOW_SCRIPT_TIME_LIMIT",
    ),
    Attack(
        "sort_nested", "script", "x = sorted([[0] * 100000] * 100000)", "error", "AFTERFLOW_SCRIPT_MAX_ITEMS"
    ),
    Attack(
        "compare_nested",
        "script",
        "a = [[0] * 100000] * 100\nx = a == [[0] * 100000] * 100",
        "error",
        "AFTERFLOW_SCRIPT_MAX_ITEMS",
    ),
    Attack(
        "pow_modulus", "script", "x = pow(3, 2**9000, 2**9000 + 1)", "error", "AFTERFLOW_SCRIPT_MAX_INT_BITS"
    ),
    Attack("huge_floor_division", "script", "x = 2 ** 20000 // 3", "error", "AFTERFLOW_SCRIPT_MAX_INT_BITS"),
    Attack(
        "doubling_int",
        "script",
        "x = 1\nfor i in range(10**5):\n    x = x + x",
        "error",
        "AFTERFLOW_SCRIPT_MAX_INT_BITS",
    ),
    # --- deep recursion ---------------------------------------------------------------------------
    Attack("deep_recursion", "script", "def f(n):\n    return f(n + 1)\nx = f(0)", "error", "recursion"),
    Attack(
        "fork_recursion",
        "script",
        "def f(n):\n    return f(n + 1) + f(n + 2)\nx = f(0)",
        "error",
        "recursion",
    ),
    Attack(
        "deep_nesting_repr", "script", "a = []\nfor i in range(100000):\n    a = [a]\nx = str(a)", "error", ""
    ),
    # --- memory bombs -----------------------------------------------------------------------------
    Attack("string_repeat", "script", "x = 'a' * 10**9", "error", "AFTERFLOW_SCRIPT_MAX_STRING"),
    Attack("list_repeat", "script", "x = [0] * 10**9", "error", "AFTERFLOW_SCRIPT_MAX_ITEMS"),
    Attack("power_tower", "script", "x = 10 ** 10 ** 8", "error", "AFTERFLOW_SCRIPT_MAX_INT_BITS"),
    Attack("left_shift", "script", "x = 1 << 10**8", "error", "AFTERFLOW_SCRIPT_MAX_INT_BITS"),
    Attack("pow_builtin", "script", "x = pow(2, 10**8)", "error", "AFTERFLOW_SCRIPT_MAX_INT_BITS"),
    Attack(
        "join_bomb", "script", "x = ''.join(['a' * 1000] * 10**4)", "error", "AFTERFLOW_SCRIPT_MAX_STRING"
    ),
    Attack("ljust_bomb", "script", "x = 'a'.ljust(10**9)", "error", "AFTERFLOW_SCRIPT_MAX_STRING"),
    Attack("rjust_bomb", "script", "x = 'a'.rjust(10**9)", "error", "AFTERFLOW_SCRIPT_MAX_STRING"),
    Attack("center_bomb", "script", "x = 'a'.center(10**9)", "error", "AFTERFLOW_SCRIPT_MAX_STRING"),
    Attack("zfill_bomb", "script", "x = '1'.zfill(10**9)", "error", "AFTERFLOW_SCRIPT_MAX_STRING"),
    Attack(
        "expandtabs_bomb", "script", "x = 'a\\t'.expandtabs(10**9)", "error", "AFTERFLOW_SCRIPT_MAX_STRING"
    ),
    Attack(
        "replace_bomb",
        "script",
        "x = ('a' * 1000).replace('', 'b' * 1000)",
        "error",
        "AFTERFLOW_SCRIPT_MAX_STRING",
    ),
    Attack("fstring_width", "script", "x = f'{1:{10**9}}'", "error", "AFTERFLOW_SCRIPT_MAX_STRING"),
    Attack(
        "fstring_literal_width", "script", "x = f'{1:>999999999}'", "error", "AFTERFLOW_SCRIPT_MAX_STRING"
    ),
    Attack("percent_width", "script", "x = '%999999999d' % 1", "error", "AFTERFLOW_SCRIPT_MAX_STRING"),
    Attack("percent_star_width", "script", "x = '%*d' % (10**9, 1)", "error", "'*' widths"),
    Attack("strftime_width", "script", "x = now().strftime('%1000000000Y')", "error", "widths"),
    Attack(
        "doubling_string",
        "script",
        "s = 'ab'\nfor i in range(40):\n    s = s + s",
        "error",
        "AFTERFLOW_SCRIPT_MAX_STRING",
    ),
    Attack(
        "append_loop",
        "script",
        "x = []\nfor i in range(10**6):\n    x.append('a' * 100000 + str(i))",
        "error",
        "AFTERFLOW_SCRIPT_",
    ),
    Attack("huge_range", "script", "x = list(range(10**9))", "error", "AFTERFLOW_SCRIPT_MAX_ITEMS"),
    Attack(
        "aliased_render",
        "script",
        "x = [[0] * 10**5] * 10**5\ny = str(x)",
        "error",
        "AFTERFLOW_SCRIPT_MAX_STRING",
    ),
    Attack("sum_of_lists", "script", "x = sum([[1]] * 100000, [])", "error", "sum() adds numbers"),
    Attack(
        "set_comprehension_bomb",
        "script",
        "x = {i * j for i in range(10**6) for j in range(10**6)}",
        "error",
        "AFTERFLOW_SCRIPT_",
    ),
    # --- C-level bombs: one C call the trace function never interrupts (the script process) -----
    Attack("hash_wide_tuple", "script", WIDE_TUPLE + "y = hash(t)", "error", STOPPED),
    Attack("set_literal_wide_tuple", "script", WIDE_TUPLE + "y = {t}", "error", STOPPED),
    Attack("dict_key_wide_tuple", "script", WIDE_TUPLE + "y = {t: 1}", "error", STOPPED),
    Attack("in_set_wide_tuple", "script", WIDE_TUPLE + "s = {1, 2}\ny = t in s", "error", STOPPED),
    Attack("dict_get_wide_tuple", "script", WIDE_TUPLE + "y = {}.get(t)", "error", STOPPED),
    Attack("frozenset_wide_tuple", "script", WIDE_TUPLE + "y = frozenset([t])", "error", STOPPED),
    # One sum takes a fraction of a second; a hundred of them outlast any limit on any machine.
    Attack(
        "sum_big_integers", "script", "y = [sum([2**9000] * 100000) for _ in range(100)]", "error", STOPPED
    ),
    Attack("sort_twin_cubes", "script", TWIN_CUBES + "z = sorted([x, y])", "error", STOPPED),
    Attack("compare_twin_cubes", "script", TWIN_CUBES + "z = x == y", "error", STOPPED),
    Attack("in_list_twin_cubes", "script", TWIN_CUBES + "z = x in [y]", "error", STOPPED),
    Attack("max_twin_cubes", "script", TWIN_CUBES + "z = max(x, y)", "error", STOPPED),
    Attack("index_twin_cubes", "script", TWIN_CUBES + "z = [y].index(x)", "error", STOPPED),
    Attack("hash_deep_tuple", "script", DEEP_TUPLE + "y = hash(t)", "error", STOPPED),
    Attack("repr_deep_tuple", "script", DEEP_TUPLE + "y = repr(t)", "error", ""),
    Attack(
        "str_deep_dict",
        "script",
        "d = {}\nfor i in range(100000):\n    d = {'k': d}\ny = str(d)",
        "error",
        "",
    ),
    Attack(
        "compare_deep_lists",
        "script",
        "a = []\nb = []\nfor i in range(100000):\n    a = [a]\n    b = [b]\nz = a == b",
        "error",
        "",
    ),
    Attack(
        "condition_hash_wide_tuple",
        "condition",
        "n > 0 and hash(tuple([tuple([1] * 100000)] * 100000)) == 0",
        "error",
        STOPPED,
    ),
    Attack(
        "timer_hash_wide_tuple",
        "timer",
        "'PT' + str(hash(tuple([tuple([1] * 100000)] * 100000)) % 7) + 'S'",
        "error",
        STOPPED,
    ),
    Attack(
        "due_sum_big_integers",
        "due",
        "working_hours(sum(sum([2**9000] * 100000) for _ in range(100)) % 7)",
        "error",
        STOPPED,
    ),
    Attack("prescript_set_of_wide_tuple", "prescript", WIDE_TUPLE + "s = set([t])", "error", STOPPED),
    # --- values case data cannot keep -----------------------------------------------------------
    Attack("tzinfo_left_behind", "script", "tz = now().tzinfo", "error", "'tz'"),
    Attack("date_left_behind", "script", "d = today()", "error", "'d'"),
    Attack("aliased_data", "script", "x = [[0] * 1000] * 10000", "error", "'x'"),
    # --- parser bombs and what the compiler would fold ----------------------------------------------
    Attack("huge_decimal_constant", "script", "x = " + "9" * 5000 + " // 7", "deploy", "syntax error"),
    Attack(
        "huge_hex_constant", "script", "x = 0x" + "f" * 5000 + " // 7", "deploy", "larger than 10,000 bits"
    ),
    Attack("nested_parentheses", "script", "x = " + "(" * 300 + "1" + ")" * 300, "deploy", ""),
    Attack("long_sum_chain", "script", "x = " + "1 + " * 3000 + "1", "deploy", "nested too deeply"),
    Attack("medium_sum_chain", "script", "x = " + "n + " * 100 + "n", "deploy", "nested more than"),
    Attack("unary_chain", "script", "x = " + "-" * 3000 + "1", "deploy", "nested too deeply"),
    Attack("nested_lists", "script", "x = " + "[" * 150 + "]" * 150, "deploy", "nested more than"),
    Attack("attribute_chain", "script", "x = n" + ".real" * 500, "deploy", "nested more than"),
    Attack("source_too_long", "script", "x = 1\n" * 5000, "deploy", "AFTERFLOW_SCRIPT_MAX_SOURCE"),
    # --- gateway conditions -------------------------------------------------------------------------
    Attack(
        "condition_string_bomb",
        "condition",
        "n > 0 and 'a' * 10**9 == 'b'",
        "error",
        "AFTERFLOW_SCRIPT_MAX_STRING",
    ),
    Attack("condition_cpu_bomb", "condition", f"n > 0 and {QUADRILLION} == []", "error", "AFTERFLOW_SCRIPT_"),
    Attack("condition_mro", "condition", "n > 0 and Exception.mro()[1] is None", "error", "'.mro' of a type"),
    Attack("condition_dunder", "condition", "n.__class__ is int", "deploy", "names starting with '_'"),
    Attack("condition_parser_bomb", "condition", "n" + " + n" * 3000 + " > 0", "deploy", "nested too deeply"),
    # --- timer expressions ------------------------------------------------------------------------
    Attack(
        "timer_constant_bomb",
        "timer",
        "'PT' + str(len('a' * 10**9)) + 'S'",
        "error",
        "AFTERFLOW_SCRIPT_MAX_STRING",
    ),
    Attack(
        "timer_constant_cpu", "timer", f"'PT' + str(len({QUADRILLION})) + 'S'", "error", "AFTERFLOW_SCRIPT_"
    ),
    Attack(
        "timer_data_int_bomb",
        "timer",
        "'PT' + str(n * 10 ** 10 ** 8) + 'S'",
        "error",
        "AFTERFLOW_SCRIPT_MAX_INT_BITS",
    ),
    Attack(
        "timer_data_cpu", "timer", f"'PT' + str(n + len({QUADRILLION})) + 'S'", "error", "AFTERFLOW_SCRIPT_"
    ),
    Attack("timer_constant_deploy", "timer", "'PT' + 'S' * 10**9", "deploy", "AFTERFLOW_SCRIPT_MAX_STRING"),
    Attack("timer_import", "timer", "__import__('os').system('true')", "deploy", "names starting with '_'"),
    # --- due-time expressions -----------------------------------------------------------------------
    Attack(
        "due_int_bomb", "due", "working_hours(n * 10 ** 10 ** 8)", "error", "AFTERFLOW_SCRIPT_MAX_INT_BITS"
    ),
    Attack("due_join_bomb", "due", "''.join(['a'] * n * 10**8)", "error", "AFTERFLOW_SCRIPT_MAX_ITEMS"),
    Attack("due_cpu_bomb", "due", f"working_hours(n + len({QUADRILLION}))", "error", "AFTERFLOW_SCRIPT_"),
    # --- pre- and post-scripts ----------------------------------------------------------------------
    Attack("prescript_loop", "prescript", LOOP_FOREVER, "error", "AFTERFLOW_SCRIPT_TIME_LIMIT"),
    Attack("postscript_string_bomb", "postscript", "x = 'a' * 10**9", "error", "AFTERFLOW_SCRIPT_MAX_STRING"),
    Attack("prescript_tzinfo", "prescript", "tz = now().tzinfo", "error", "'tz'"),
    Attack("postscript_import", "postscript", "import subprocess", "deploy", "imports are not allowed"),
    # --- multi-instance cardinality and collections -------------------------------------------------
    Attack(
        "cardinality_pow", "cardinality", "pow(2, 10**10, 10**9+7)", "error", "AFTERFLOW_MAX_MULTI_INSTANCE"
    ),
    Attack("cardinality_literal", "cardinality", "100000", "deploy", "AFTERFLOW_MAX_MULTI_INSTANCE"),
    Attack("cardinality_from_data", "cardinality", "n * 10**6", "error", "AFTERFLOW_MAX_MULTI_INSTANCE"),
    Attack("cardinality_int_bomb", "cardinality", "10 ** 10 ** 8", "error", "AFTERFLOW_SCRIPT_MAX_INT_BITS"),
    Attack(
        "burst_of_scripts",
        "burst",
        "began = now()\nwhile (now() - began).total_seconds() < 0.4:\n    pass",
        "error",
        "AFTERFLOW_COMMAND_SCRIPT_SECONDS",
    ),
    Attack(
        "collection_list",
        "collection",
        "items = list(range(50000))",
        "error",
        "AFTERFLOW_MAX_MULTI_INSTANCE",
    ),
    Attack(
        "collection_dict",
        "collection",
        "items = {i: i for i in range(5000)}",
        "error",
        "AFTERFLOW_MAX_MULTI_INSTANCE",
    ),
]
