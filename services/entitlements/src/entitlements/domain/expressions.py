"""Policy expressions: parse (cel-python's CEL grammar), name-check against the facts catalogue and
type-check, keeping the source position of every node for error messages.

`analyse(source, scopes, expect)` is the one entry point. It returns an `Expression`: the AST, the
type of every node, the facts it reads (in order of first appearance), and — when the expression is
valid CEL but outside the batch subset — why, so that the SQL compiler can refuse it up front.

Syntax is checked twice: with the lark grammar cel-python ships (positions come from there) and with
the Rust CEL parser the per-subject path runs, so that nothing is accepted here that the evaluator
would refuse.

Types: `int`, `uint`, `double`, `bool`, `string`, `bytes`, `timestamp`, `null`, `list(T)` and `dyn`
(unknown, from constructs the checker does not model: macros, conversions, maps, indexing). CEL never
coerces: `1 + 2u`, `1 == "1"`, `person.age < "60"` are type errors. A nullable fact (e.g.
`person.disability_grade`) has its catalogue type; reading it when it is null makes the criterion fail
unless the expression guards it (`x != null && x <= 3`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import cel
from celpy.celparser import CELParseError, CELParser
from lark import Token, Tree

from entitlements.domain.errors import BatchUnsupported, ExpressionError, Position
from entitlements.domain.facts_catalogue import FACTS, Fact

# ── AST ──────────────────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True, eq=False)
class Node:
    pos: Position

    def children(self) -> tuple[Node, ...]:
        return ()

    def walk(self) -> Iterator[Node]:
        yield self
        for child in self.children():
            yield from child.walk()


@dataclass(frozen=True, eq=False)
class Lit(Node):
    value: Any
    kind: str  # int, uint, double, bool, string, bytes, null


@dataclass(frozen=True, eq=False)
class FactRef(Node):
    name: str


@dataclass(frozen=True, eq=False)
class Ident(Node):
    name: str  # a bare identifier that is not a fact (macro variable or an unknown name)


@dataclass(frozen=True, eq=False)
class Unary(Node):
    op: str  # "!" or "-"
    operand: Node

    def children(self) -> tuple[Node, ...]:
        return (self.operand,)


@dataclass(frozen=True, eq=False)
class Binary(Node):
    op: str  # || && == != < <= > >= in + - * / %
    left: Node
    right: Node

    def children(self) -> tuple[Node, ...]:
        return (self.left, self.right)


@dataclass(frozen=True, eq=False)
class Cond(Node):
    cond: Node
    then: Node
    otherwise: Node

    def children(self) -> tuple[Node, ...]:
        return (self.cond, self.then, self.otherwise)


@dataclass(frozen=True, eq=False)
class ListLit(Node):
    items: tuple[Node, ...]

    def children(self) -> tuple[Node, ...]:
        return self.items


@dataclass(frozen=True, eq=False)
class Call(Node):
    name: str
    target: Node | None  # receiver of `x.f(...)`, None for `f(...)`
    args: tuple[Node, ...]

    def children(self) -> tuple[Node, ...]:
        return ((self.target,) if self.target is not None else ()) + self.args


@dataclass(frozen=True, eq=False)
class Select(Node):
    target: Node
    field: str

    def children(self) -> tuple[Node, ...]:
        return (self.target,)


@dataclass(frozen=True, eq=False)
class Opaque(Node):
    """A construct the checker does not model (map literal, message, indexing): typed `dyn`."""

    what: str
    parts: tuple[Node, ...] = ()

    def children(self) -> tuple[Node, ...]:
        return self.parts


# ── types ────────────────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class CelType:
    base: str  # int uint double bool string bytes timestamp null list dyn
    nullable: bool = False
    elem: CelType | None = None

    def __str__(self) -> str:
        text = f"list({self.elem})" if self.base == "list" else self.base
        return f"{text}?" if self.nullable else text

    @property
    def is_dyn(self) -> bool:
        return self.base == "dyn"

    def non_null(self) -> CelType:
        return CelType(self.base, False, self.elem)


DYN = CelType("dyn")
BOOL_T, INT_T, STRING_T, NULL_T = CelType("bool"), CelType("int"), CelType("string"), CelType("null")
TIMESTAMP_T = CelType("timestamp")


def fact_type(fact: Fact) -> CelType:
    if fact.cel_type.startswith("list("):
        return CelType("list", fact.nullable, CelType(fact.cel_type[5:-1]))
    return CelType(fact.cel_type, fact.nullable)


MACROS = frozenset({"all", "exists", "exists_one", "map", "filter"})


@dataclass
class Expression:
    source: str
    ast: Node
    result: CelType
    types: dict[int, CelType]  # id(node) -> type
    facts: tuple[str, ...]  # facts read, in order of first appearance
    batch_problem: BatchUnsupported | None = None
    program: Any = field(default=None, repr=False)  # the compiled Rust CEL program

    def type_of(self, node: Node) -> CelType:
        return self.types[id(node)]


# ── parsing ──────────────────────────────────────────────────────────────────────────────────────

_parser: CELParser | None = None
_RUST_POSITION = re.compile(r"<input>:(\d+):(\d+)")


def _lark() -> CELParser:
    global _parser
    if _parser is None:
        _parser = CELParser()
    return _parser


def parse(source: str) -> tuple[Node, Any]:
    """The AST of `source` and its compiled Rust CEL program, or ExpressionError with the position of
    the syntax error."""
    if not source.strip():
        raise ExpressionError("The expression is empty.", "表达式为空。", Position(1, 1, 0))
    try:
        tree = _lark().parse(source)
    except CELParseError as exc:
        line, column = exc.line or 1, exc.column or 1
        if line < 0 or column < 0:  # lark's way of saying: at the end
            position = Position.at_offset(source, len(source.rstrip()))
        else:
            position = Position.at_line_column(source, line, column)
        near = source[position.offset:position.offset + 12].split("\n")[0]
        if near.strip():
            en, zh = f"CEL syntax error: unexpected {near!r}.", f"CEL 语法错误：此处不应出现 {near!r}。"
        else:
            en, zh = "CEL syntax error: the expression ends too early.", "CEL 语法错误：表达式不完整。"
        raise ExpressionError(en, zh, position) from None
    _check_depth(tree, source)
    try:
        program = cel.compile(source)
    except Exception as exc:  # noqa: BLE001 - the Rust parser's own word on the syntax
        match = _RUST_POSITION.search(str(exc))
        position = (Position.at_line_column(source, int(match.group(1)), int(match.group(2)))
                    if match else Position(1, 1, 0))
        raise ExpressionError("CEL syntax error: " + str(exc).splitlines()[0][:200],
                              "CEL 语法错误：" + str(exc).splitlines()[0][:200], position) from None
    return _Builder(source).build(tree), program


# How deep the parse tree may nest. Every check after parsing walks the tree recursively, so a deeper
# one (`-----…1`, a chain of 2,000 `+1`) is refused here with its position instead of exhausting the
# stack. Each operator adds about ten grammar levels; the library's deepest expression has 27.
MAX_DEPTH = 300


def _check_depth(tree: Tree, source: str) -> None:
    stack: list[tuple[Tree | Token, int]] = [(tree, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            offset = _offset_of(item)
            raise ExpressionError("The expression nests too deeply: split it or write it more simply.",
                                  "表达式嵌套过深，请拆分或简化。",
                                  Position.at_offset(source, offset if offset is not None else 0))
        if isinstance(item, Tree):
            stack.extend((child, depth + 1) for child in item.children if isinstance(child, Tree | Token))


def _offset_of(item: Tree | Token) -> int | None:
    """Where `item` starts, when the parser recorded it (tokens made by a lexer callback carry none)."""
    if isinstance(item, Token):
        return item.start_pos
    meta = item.meta
    if not getattr(meta, "empty", True) and getattr(meta, "start_pos", None) is not None:
        return meta.start_pos
    for child in item.children:
        if isinstance(child, Tree | Token):
            return _offset_of(child)
    return None


def _first_token(item: Tree | Token) -> Token | None:
    if isinstance(item, Token):
        return item
    for child in item.children:
        if isinstance(child, Tree | Token) and (token := _first_token(child)) is not None:
            return token
    return None


_BINARY_RULES = {
    "relation_lt": "<", "relation_le": "<=", "relation_gt": ">", "relation_ge": ">=", "relation_eq": "==",
    "relation_ne": "!=", "relation_in": "in", "addition_add": "+", "addition_sub": "-",
    "multiplication_mul": "*", "multiplication_div": "/", "multiplication_mod": "%",
}


class _Builder:
    def __init__(self, source: str) -> None:
        self.source = source
        self.cursor = 0  # the last position found; unpositioned tokens (true/false) are sought after it

    def pos(self, item: Tree | Token) -> Position:
        offset = _offset_of(item)
        if offset is None:
            token = _first_token(item)
            found = self.source.find(str(token), self.cursor) if token is not None else -1
            offset = found if found >= 0 else self.cursor
        self.cursor = max(self.cursor, offset)
        return Position.at_offset(self.source, offset)

    def op_pos(self, left: Tree, right: Tree, op: str) -> Position:
        """Where the operator between `left` and `right` stands (errors in a binary point at it)."""
        start = getattr(left.meta, "end_pos", None)
        end = _offset_of(right)
        end = len(self.source) if end is None else end
        if start is not None:
            found = self.source.find(op, start, end)
            if found >= 0:
                return Position.at_offset(self.source, found)
        return self.pos(left)

    def build(self, tree: Tree | Token) -> Node:  # noqa: C901 - one case per grammar rule
        if isinstance(tree, Token):
            raise ExpressionError("Unexpected token.", "意外的记号。", self.pos(tree))
        rule, kids = tree.data, tree.children
        if rule == "expr":
            if len(kids) == 1:
                return self.build(kids[0])
            return Cond(self.pos(tree), self.build(kids[0]), self.build(kids[1]), self.build(kids[2]))
        if rule in ("conditionalor", "conditionaland"):
            if len(kids) == 1:
                return self.build(kids[0])
            op = "||" if rule == "conditionalor" else "&&"
            return Binary(self.op_pos(kids[0], kids[1], op), op, self.build(kids[0]), self.build(kids[1]))
        if rule in ("relation", "addition", "multiplication"):
            if len(kids) == 1:
                return self.build(kids[0])
            operator, right = kids
            op = _BINARY_RULES[operator.data]
            return Binary(self.op_pos(operator.children[0], right, op), op, self.build(operator.children[0]),
                          self.build(right))
        if rule == "unary":
            if len(kids) == 1:
                return self.build(kids[0])
            op = "!" if kids[0].data == "unary_not" else "-"
            return Unary(self.pos(tree), op, self.build(kids[1]))
        if rule in ("member", "primary"):
            return self.build(kids[0])
        if rule == "member_dot":
            target, name = kids
            built = self.build(target)
            if isinstance(built, Ident) and built.name in ("person", "household"):
                return FactRef(self.pos(name), f"{built.name}.{name}")
            return Select(self.pos(name), built, str(name))
        if rule == "member_dot_arg":
            target, name, *rest = kids
            args = self.exprlist(rest[0]) if rest else ()
            return Call(self.pos(name), str(name), self.build(target), args)
        if rule == "ident_arg":
            name, *rest = kids
            args = self.exprlist(rest[0]) if rest else ()
            return Call(self.pos(tree), str(name), None, args)
        if rule == "ident":
            return Ident(self.pos(tree), str(kids[0]))
        if rule == "paren_expr":
            return self.build(kids[0])
        if rule == "list_lit":
            return ListLit(self.pos(tree), self.exprlist(kids[0]) if kids else ())
        if rule == "literal":
            return self.literal(kids[0])
        if rule == "member_index":
            return Opaque(self.pos(tree), "index", (self.build(kids[0]), self.build(kids[1])))
        parts = tuple(self.build(k) for k in kids if isinstance(k, Tree) and k.data in ("expr", "member"))
        return Opaque(self.pos(tree), rule, parts)

    def exprlist(self, tree: Tree) -> tuple[Node, ...]:
        return tuple(self.build(k) for k in tree.children)

    def literal(self, token: Token) -> Lit:
        pos, text, kind = self.pos(token), str(token), token.type
        if kind == "INT_LIT":
            negative = text.startswith("-")
            body = text[1:] if negative else text
            value = int(body, 16) if body.lower().startswith("0x") else int(body)
            return Lit(pos, -value if negative else value, "int")
        if kind == "UINT_LIT":
            body = text[:-1]
            return Lit(pos, int(body, 16) if body.lower().startswith("0x") else int(body), "uint")
        if kind == "FLOAT_LIT":
            return Lit(pos, float(text), "double")
        if kind == "BOOL_LIT":
            return Lit(pos, text == "true", "bool")
        if kind == "NULL_LIT":
            return Lit(pos, None, "null")
        if kind in ("STRING_LIT", "MLSTRING_LIT"):
            return Lit(pos, _string_value(text), "string")
        return Lit(pos, text, "bytes")


_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\", "'": "'",
            '"': '"', "`": "`", "?": "?"}
_ESCAPE = re.compile(r"\\(?:([abfnrtv\\'\"`?])|x([0-9a-fA-F]{2})|u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8})|([0-3][0-7]{2}))")


def _string_value(text: str) -> str:
    raw = text[0] in "rR"
    if raw:
        text = text[1:]
    quote = 3 if text[:3] in ('"""', "'''") else 1
    body = text[quote:-quote]
    if raw:
        return body

    def unescape(match: re.Match[str]) -> str:
        simple, hex2, hex4, hex8, octal = match.groups()
        if simple:
            return _ESCAPES[simple]
        return chr(int(hex2 or hex4 or hex8, 16) if not octal else int(octal, 8))

    return _ESCAPE.sub(unescape, body)


# ── checking ─────────────────────────────────────────────────────────────────────────────────────


def _err(message: str, message_zh: str, node: Node) -> ExpressionError:
    return ExpressionError(message, message_zh, node.pos)


class _Checker:
    def __init__(self, scopes: tuple[str, ...]) -> None:
        self.scopes = scopes
        self.types: dict[int, CelType] = {}
        self.facts: list[str] = []
        self.bound: list[str] = []  # macro variables in scope

    def check(self, node: Node) -> CelType:
        result = self._check(node)
        self.types[id(node)] = result
        return result

    def _check(self, node: Node) -> CelType:  # noqa: C901 - one case per node kind
        if isinstance(node, Lit):
            return CelType(node.kind)
        if isinstance(node, FactRef):
            fact = FACTS.get(node.name)
            scope = node.name.split(".", 1)[0]
            if fact is None:
                near = _nearest(node.name)
                hint, hint_zh = (f" Did you mean {near}?", f"是否应为 {near}？") if near else ("", "")
                raise _err(f"Unknown fact {node.name}.{hint}", f"未知的事实 {node.name}。{hint_zh}", node)
            if scope not in self.scopes:
                raise _err(f"A {self.scopes[-1]} policy cannot read {node.name}: only household facts apply.",
                           f"以户为对象的政策不能读取 {node.name}，只能使用户的事实。", node)
            if node.name not in self.facts:
                self.facts.append(node.name)
            return fact_type(fact)
        if isinstance(node, Ident):
            if node.name in self.bound:
                return DYN
            if node.name in ("person", "household"):
                raise _err(f"Name a fact of {node.name}, e.g. {node.name}.{_first_key(node.name)}.",
                           f"请写明 {node.name} 的具体事实，例如 {node.name}.{_first_key(node.name)}。", node)
            raise _err(f"Unknown name {node.name}: facts are written person.<fact> or household.<fact>.",
                       f"未知的名称 {node.name}：事实应写作 person.<事实> 或 household.<事实>。", node)
        if isinstance(node, Unary):
            operand = self.check(node.operand)
            if node.op == "!":
                self._expect(operand, ("bool",), node, "!")
                return BOOL_T
            self._expect(operand, ("int", "double"), node, "-")
            return operand.non_null() if not operand.is_dyn else DYN
        if isinstance(node, Binary):
            return self._binary(node)
        if isinstance(node, Cond):
            cond = self.check(node.cond)
            self._expect(cond, ("bool",), node.cond, "?:")
            then, otherwise = self.check(node.then), self.check(node.otherwise)
            joined = _join(then, otherwise)
            if joined is None:
                raise _err(f"The two branches of ?: differ in type ({then} and {otherwise}).",
                           f"条件表达式两个分支的类型不同（{then} 与 {otherwise}）。", node)
            return joined
        if isinstance(node, ListLit):
            elem: CelType | None = None
            for item in node.items:
                item_type = self.check(item)
                elem = item_type if elem is None else _join(elem, item_type)
                if elem is None:
                    raise _err("A list's elements must all have one type.", "列表中的元素类型必须一致。", item)
            return CelType("list", False, elem or DYN)
        if isinstance(node, Call):
            return self._call(node)
        if isinstance(node, Select):
            target = self.check(node.target)
            if not target.is_dyn:
                raise _err(f"A {target} has no field {node.field}.", f"{target} 类型没有字段 {node.field}。", node)
            return DYN
        if isinstance(node, Opaque):
            for part in node.parts:
                self.check(part)
            return DYN
        raise _err("Unsupported construct.", "不支持的写法。", node)  # pragma: no cover

    def _expect(self, got: CelType, bases: tuple[str, ...], node: Node, op: str) -> None:
        if got.is_dyn or got.base in bases:
            return
        wanted = " or ".join(bases)
        raise _err(f"{op} needs {wanted}, got {got}.", f"{op} 需要 {wanted} 类型，实际为 {got}。", node)

    def _binary(self, node: Binary) -> CelType:
        left, right = self.check(node.left), self.check(node.right)
        op = node.op
        if op in ("&&", "||"):
            self._expect(left, ("bool",), node.left, op)
            self._expect(right, ("bool",), node.right, op)
            return BOOL_T
        if op in ("==", "!="):
            if _join(left, right) is None:
                raise _err(f"Cannot compare {left} with {right} using {op}.",
                           f"不能用 {op} 比较 {left} 与 {right}。", node)
            return BOOL_T
        if op in ("<", "<=", ">", ">="):
            orderable = ("int", "uint", "double", "string", "timestamp", "bool", "bytes")
            self._expect(left, orderable, node.left, op)
            self._expect(right, orderable, node.right, op)
            if not (left.is_dyn or right.is_dyn) and left.base != right.base:
                raise _err(f"Cannot compare {left} with {right} using {op}.",
                           f"不能用 {op} 比较 {left} 与 {right}。", node)
            return BOOL_T
        if op == "in":
            if right.is_dyn:
                return BOOL_T
            if right.base != "list" or right.elem is None:
                raise _err(f"The right side of `in` must be a list, got {right}.",
                           f"in 的右侧必须是列表，实际为 {right}。", node.right)
            if _join(left, right.elem) is None:
                raise _err(f"Cannot look for a {left} in a list of {right.elem}.",
                           f"不能在 {right.elem} 列表中查找 {left}。", node)
            return BOOL_T
        # arithmetic
        if left.is_dyn or right.is_dyn:
            return DYN
        if left.base != right.base or left.base == "null":
            raise _err(f"Operator {op} cannot combine {left} and {right}: CEL does not convert between types.",
                       f"运算符 {op} 不能组合 {left} 与 {right}：CEL 不做类型转换。", node)
        allowed = {"+": ("int", "uint", "double", "string", "bytes", "list"), "-": ("int", "uint", "double"),
                   "*": ("int", "uint", "double"), "/": ("int", "uint", "double"), "%": ("int", "uint")}[op]
        self._expect(left, allowed, node, op)
        return left.non_null()

    def _call(self, node: Call) -> CelType:
        name = node.name
        if name in MACROS and node.target is not None and len(node.args) in (2, 3):
            self.check(node.target)
            variable = node.args[0]
            if not isinstance(variable, Ident):
                raise _err(f"{name}() takes a variable name first.", f"{name}() 的第一个参数应为变量名。", variable)
            self.bound.append(variable.name)
            try:
                for arg in node.args[1:]:
                    self.check(arg)
            finally:
                self.bound.pop()
            self.types[id(variable)] = DYN
            return BOOL_T if name in ("all", "exists", "exists_one") else CelType("list", False, DYN)
        if name == "has" and node.target is None and len(node.args) == 1:
            arg = node.args[0]
            if isinstance(arg, FactRef):
                self.check(arg)
            elif isinstance(arg, Select):
                self.check(arg.target)
                self.types[id(arg)] = DYN
            else:
                raise _err("has() takes a field selection.", "has() 的参数应为字段选择。", arg)
            return BOOL_T
        target = self.check(node.target) if node.target is not None else None
        args = [self.check(a) for a in node.args]
        signature = _FUNCTIONS.get((name, node.target is not None, len(args)))
        if signature is None:
            raise _err(f"Unknown function {name}() with {len(args)} argument(s).",
                       f"未知的函数 {name}()（{len(args)} 个参数）。", node)
        receiver, params, result = signature
        for got, wanted in zip(([target] if target is not None else []) + args,
                               ([receiver] if receiver else []) + list(params), strict=True):
            if wanted != "any" and not got.is_dyn and got.base not in wanted.split("|"):
                raise _err(f"{name}() needs {wanted}, got {got}.", f"{name}() 需要 {wanted} 类型，实际为 {got}。", node)
        return CelType(result) if result != "dyn" else DYN


# (name, receiver-style, arity) -> (receiver type, parameter types, result type)
_FUNCTIONS: dict[tuple[str, bool, int], tuple[str | None, tuple[str, ...], str]] = {
    ("startsWith", True, 1): ("string", ("string",), "bool"),
    ("endsWith", True, 1): ("string", ("string",), "bool"),
    ("contains", True, 1): ("string", ("string",), "bool"),
    ("matches", True, 1): ("string", ("string",), "bool"),
    ("size", False, 1): (None, ("string|list|bytes",), "int"),
    ("size", True, 0): ("string|list|bytes", (), "int"),
    ("timestamp", False, 1): (None, ("string",), "timestamp"),
    ("int", False, 1): (None, ("int|uint|double|string|timestamp",), "int"),
    ("uint", False, 1): (None, ("int|uint|double|string",), "uint"),
    ("double", False, 1): (None, ("int|uint|double|string",), "double"),
    ("string", False, 1): (None, ("any",), "string"),
    ("getFullYear", True, 0): ("timestamp", (), "int"),
    ("getMonth", True, 0): ("timestamp", (), "int"),
    ("getDayOfMonth", True, 0): ("timestamp", (), "int"),
}


def _join(a: CelType, b: CelType) -> CelType | None:
    """The common type of two values that may meet (==, ?: branches, list elements); None if none."""
    if a.is_dyn or b.is_dyn:
        return DYN
    if a.base == "null":
        return CelType(b.base, True, b.elem) if b.base != "null" else a
    if b.base == "null":
        return CelType(a.base, True, a.elem)
    if a.base != b.base:
        return None
    if a.base == "list":
        elem = _join(a.elem or DYN, b.elem or DYN)
        if elem is None:
            return None
        return CelType("list", a.nullable or b.nullable, elem)
    return CelType(a.base, a.nullable or b.nullable)


def _nearest(name: str) -> str | None:
    import difflib

    matches = difflib.get_close_matches(name, list(FACTS), n=1, cutoff=0.75)
    return matches[0] if matches else None


def _first_key(scope: str) -> str:
    return next(f.key for f in FACTS.values() if f.scope == scope)


# ── the batch subset ─────────────────────────────────────────────────────────────────────────────

_DATE_LITERAL = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T00:00:00Z$")


def batch_problem(expression: Expression) -> BatchUnsupported | None:
    """Why `expression` is outside the subset the SQL compiler handles (see domain/sql_compiler.py)."""

    def refuse(node: Node, en: str, zh: str) -> BatchUnsupported:
        return BatchUnsupported(f"Outside the batch (SQL) subset: {en}", f"超出批量（SQL）可支持的范围：{zh}", node.pos)

    def check(node: Node, nullable_ok: bool) -> BatchUnsupported | None:
        t = expression.type_of(node)
        if t.is_dyn:
            return refuse(node, "a construct whose type is not known statically.", "无法静态确定类型的写法。")
        if t.base in ("uint", "double", "bytes"):
            return refuse(node, f"{t.base} values.", f"{t.base} 类型的值。")
        if (t.nullable or t.base == "null") and not nullable_ok:
            return refuse(node, "a value that may be null in this position; compare it with null first.",
                          "此处的值可能为空，请先与 null 比较。")
        if isinstance(node, Lit | FactRef):
            return None
        if isinstance(node, Unary):
            return check(node.operand, nullable_ok=node.op == "-")
        if isinstance(node, Binary):
            if node.op in ("==", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/", "%"):
                left_t = expression.type_of(node.left)
                if node.op in ("<", "<=", ">", ">=") and left_t.base == "bool":
                    return refuse(node, "ordering of booleans.", "布尔值的大小比较。")
                if node.op == "+" and left_t.base in ("string", "list"):
                    return refuse(node, "joining strings or lists.", "字符串或列表的拼接。")
                return check(node.left, True) or check(node.right, True)
            if node.op == "in":
                if isinstance(node.right, ListLit):
                    for item in node.right.items:
                        if not isinstance(item, Lit) or item.kind == "null":
                            return refuse(item, "`in` over a list that is not all literal values.",
                                          "in 的列表须全部为常量。")
                    return check(node.left, True) or check(node.right, False)
                if isinstance(node.right, FactRef):
                    return check(node.left, True)
                return refuse(node.right, "`in` needs a list of literals or a list fact on its right.",
                              "in 的右侧须为常量列表或列表型事实。")
            return check(node.left, False) or check(node.right, False)
        if isinstance(node, Cond):
            return check(node.cond, False) or check(node.then, False) or check(node.otherwise, False)
        if isinstance(node, ListLit):
            return None  # only as the right side of `in`, checked there
        if isinstance(node, Call):
            if node.name == "startsWith" and node.target is not None:
                return check(node.target, True) or check(node.args[0], True)
            if node.name == "timestamp" and node.target is None:
                arg = node.args[0]
                if isinstance(arg, Lit) and isinstance(arg.value, str) and _DATE_LITERAL.match(arg.value):
                    return None
                return refuse(node, "timestamp() other than a literal midnight UTC date ('YYYY-MM-DDT00:00:00Z').",
                              "timestamp() 只能是零点（UTC）的日期常量（'YYYY-MM-DDT00:00:00Z'）。")
            return refuse(node, f"the function {node.name}().", f"函数 {node.name}()。")
        return refuse(node, "this construct.", "此写法。")

    return check(expression.ast, nullable_ok=True)


# ── entry point ──────────────────────────────────────────────────────────────────────────────────


def analyse(source: str, scopes: tuple[str, ...], expect: str) -> Expression:
    """Parse and check `source` for a policy over `scopes` whose value must be of type `expect`
    (`bool` for a criterion, `int` for an amount). Raises ExpressionError with a position."""
    ast, program = parse(source)
    checker = _Checker(scopes)
    result = checker.check(ast)
    if not result.is_dyn and result.base != expect and not (expect == "int" and result.base == "null"):
        raise ExpressionError(f"The expression must give {expect}, but gives {result}.",
                              f"表达式的结果应为 {expect} 类型，实际为 {result}。", ast.pos)
    expression = Expression(source=source, ast=ast, result=result, types=checker.types, facts=tuple(checker.facts),
                            program=program)
    expression.batch_problem = batch_problem(expression)
    return expression
