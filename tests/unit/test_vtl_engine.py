"""The Velocity (VTL) engine: table-driven renders (template + variables → exact output), syntax errors with
their line and column, runtime failures and limits.

Cases tagged `aws-` reproduce renders recorded against API Gateway itself, published as golden data in
LocalStack's airspeed fork (tests/test_templating.snapshot.json). They are why null/undefined references
evaluate as "" (`#if($undefined)` is true there) and why whitespace follows Velocity 1.7's rules.
"""

from __future__ import annotations

import textwrap
import time
from typing import Any

import pytest

from apiway.vtl.engine import (
    MAX_LOOP,
    MAX_OUTPUT,
    CompiledTemplate,
    TemplateRuntimeError,
    TemplateSyntaxError,
    compile_vtl,
)
from apiway.vtl.protocol import Missing, VtlObject


class Host(VtlObject):
    """A stand-in host object: properties, methods (callables) and how it prints."""

    def __init__(self, props: dict[str, Any] | None = None, methods: dict[str, Any] | None = None,
                 text: str = "") -> None:
        self.props = props or {}
        self.methods = methods or {}
        self.text = text
        self.calls: list[tuple[str, list[Any]]] = []

    def vtl_get(self, name: str) -> Any:
        if name in self.props:
            return self.props[name]
        raise Missing(name)

    def vtl_call(self, name: str, args: list[Any]) -> Any:
        self.calls.append((name, args))
        method = self.methods.get(name)
        if method is None:
            raise Missing(name)
        return method(*args)

    def vtl_str(self) -> str:
        return self.text


def host() -> Host:
    return Host(
        props={"name": "hal", "nothing": None, "inner": {"k": "v"}},
        methods={
            "greet": lambda who: f"hi {who}",
            "json": lambda path: '{"a":1}' if path == "$" else "",
            "params": lambda *name: {"path": {"id": "7"}} if not name else ("7" if name[0] == "id" else ""),
            "size": lambda: 3,
            "none": lambda: None,
            "echo": lambda *args: repr(args),
        },
        text="<host>",
    )


def render(template: str, variables: dict[str, Any] | None = None, **options: Any) -> str:
    return compile_vtl(template, **options).render(variables or {})


# ----------------------------------------------------------------------------------------------------------------------
# Render cases: (id, template, variables, expected)

TEXT = [
    ("plain-text", "<html></html>", {}, "<html></html>"),
    ("empty-template", "", {}, ""),
    ("line-comment-eats-newline", "a ## note\nb", {}, "a b"),
    ("line-comment-at-end", "a ## note", {}, "a "),
    ("block-comment", "a#* x\ny *#b", {}, "ab"),
    ("formal-comment", "a#** doc *#b", {}, "ab"),
    ("unparsed-block", "#[[ $x #if(oops) ]]#!", {"x": 1}, " $x #if(oops) !"),
    ("lone-hash", 'say "#" and #1 and #{ x', {}, 'say "#" and #1 and #{ x'),
    ("css-color", '<span style="color: #13ff93">', {}, '<span style="color: #13ff93">'),  # aws
    ("lone-dollar", "costs $5 or $ 6 or $.", {}, "costs $5 or $ 6 or $."),
    ("unknown-directive-is-text", "#foo and #bar(1 2) and #{baz}", {}, "#foo and #bar(1 2) and #{baz}"),
    ("unicode-text", "Grüße $x", {"x": "✓"}, "Grüße ✓"),
    ("crlf-kept", "a\r\nb", {}, "a\r\nb"),
]

REFERENCES = [
    ("simple", "Hello $name!", {"name": "Chris"}, "Hello Chris!"),
    ("undefined-renders-empty", "Hello $name!", {}, "Hello !"),  # aws: "Hello "
    ("quiet-undefined", "[$!name]", {}, "[]"),
    ("formal", "${name}s", {"name": "cat"}, "cats"),
    ("quiet-formal", "$!{name}s|$!{nope}s", {"name": "cat"}, "cats|s"),
    ("trailing-brace-is-text", "Hello $name}.", {"name": "World"}, "Hello World}."),  # aws
    ("property-of-map", "$a.b.c", {"a": {"b": {"c": "deep"}}}, "deep"),
    ("missing-key-empty", "[$a.b.x]", {"a": {"b": {}}}, "[]"),
    ("null-in-chain-empty", "[$a.b.c.d]", {"a": {}}, "[]"),
    ("map-key-like-method-name", " $user.name ", {"user": {"items": "1;2;3"}}, "  "),  # aws
    ("method-get", "$m.get('k')", {"m": {"k": "v"}}, "v"),
    ("index-list", "$a[1] $a[-1]", {"a": ["foo", "bar", "baz"]}, "bar baz"),  # aws: $a[1]
    ("index-nested", "$a[1][1]", {"a": ["foo", ["bar1", "bar2"]]}, "bar2"),  # aws
    ("index-then-property", "$a[1].bar1", {"a": ["foo", {"bar1": "bar2"}]}, "bar2"),  # aws
    ("index-map-double-quotes", '$a["foo"]', {"a": {"foo": "bar"}}, "bar"),  # aws
    ("index-map-single-quotes", "$a.b.c['foo:bar']", {"a": {"b": {"c": {"foo:bar": "baz"}}}}, "baz"),  # aws
    ("index-variable", "#set($i = 1)$a[ $i ]", {"a": ["foo", "bar"]}, "bar"),  # aws
    ("index-string-on-list-undefined", "[$a['x']]", {"a": [1]}, "[]"),
    ("dash-in-identifier", "$my-var|$m.x-y", {"my-var": "dash", "m": {"x-y": 2}}, "dash|2"),
    ("dot-needs-letter", "$a._b $a.1", {"a": "v"}, "v._b v.1"),
    ("method-then-text-paren", "$a (x)", {"a": "v"}, "v (x)"),
    ("reference-after-hash", "#$a", {"a": "v"}, "#v"),
    ("ref-then-comment", "$a## gone\nb", {"a": "v"}, "vb"),
    ("method-chain", "$s.trim().toUpperCase().length()", {"s": "  ab "}, "2"),
    ("method-args-mixed", "$h.echo(1, 'a', \"b\", true, null, [1], {'k': 2}, $x)", {"x": 5}, None),
]

SETS = [
    ("set-int", "#set($v = 10)$v", {}, "10"),  # aws
    ("set-string", '#set($v = "Steve")$v', {}, "Steve"),  # aws
    ("set-single-quoted", "#set ($v = 'Steve')$v", {}, "Steve"),  # aws
    ("set-empty-strings", "#set( $v = \"\" )#set( $y = '' ).$v.$y.", {}, "..."),  # aws
    ("set-true", "#set ($v = true)$v", {}, "true"),  # aws
    ("set-false", "#set ($v = false)$v", {}, "false"),  # aws
    ("set-list", "#set($l = [1, 'a', $x])$l", {"x": 2.5}, "[1, a, 2.5]"),
    ("set-empty-map", "#set($a = {})$a", {}, "{}"),  # aws
    ("set-map", "#set($a = {\"dog\": \"cat\", \"horse\": 15})$a.dog $a.horse", {}, "cat 15"),  # aws
    ("set-map-interpolated-value", '#set($a = {"dog": "$horse"})$a.dog', {"horse": "cow"}, "cow"),  # aws
    ("set-map-prop", "#set($m = {})#set($m.key = 'v')$m", {}, "{key=v}"),
    ("set-map-index", "#set($d = {})#set($k = 'bar')#set($d[$k] = 'foo')$d", {}, "{bar=foo}"),  # aws
    ("set-list-index", "#set($a = ['one', 'two', 'three'])#set($i = 1)#set($a[$i] = 'foo')$a", {},
     "[one, foo, three]"),  # aws
    ("set-list-negative-index", "#set($a = [1, 2])#set($a[-1] = 9)$a", {}, "[1, 9]"),
    ("set-nested-existing", "#set($a.b.c = 1)$a", {"a": {"b": {}}}, "{b={c=1}}"),
    ("set-nested-missing-is-noop", "#set($a.b.c = 1)$a", {"a": {}}, "{}"),
    ("set-on-undefined-is-noop", "#set($nope.x = 1)[$nope]", {}, "[]"),
    ("set-overwrites", "#set($a = 1)#set($a = $a + 1)$a", {}, "2"),
    ("set-null-literal-is-noop", "#set($a = 1)#set($a = null)$a", {}, "1"),
    ("set-failed-math-is-noop", "#set($a = 1)#set($a = 1 / 0)$a", {}, "1"),
    ("set-undefined-gives-empty", "#set($a = 1)#set($a = $nope)[$a]", {}, "[]"),
    ("set-host-prop-uses-setter", "#set($h.colour = 'red')$h.name", {}, "hal"),
    ("set-parenthesised-math", "#set($a = (5 + 4))$a", {}, "9"),  # aws
    ("set-parenthesised-ref-math", "#set($b = 5)#set($a = ($b + 4))$a", {}, "9"),  # aws
    ("set-comparison", "#set($a = 4 > 2 + 5)$a", {}, "false"),  # aws
    ("set-paren-comparison", "#set($a = (5 + 4) > 2)$a", {}, "true"),  # aws
    ("set-brace-form", "#{set}($a = 3)$a", {}, "3"),
    ("set-multiline-map", "#set($m = {\n  'a': 1,\n  'b': 2\n})$m", {}, "{a=1, b=2}"),
    ("set-quiet-lhs", "#set($!a = 1)$a", {}, "1"),
    ("set-without-paren-is-text", "#set x", {}, "#set x"),
]

CONDITIONS = [
    ("if-true", "#if($a)yes#end", {"a": True}, "yes"),
    ("if-false", "#if($a)yes#end", {"a": False}, ""),  # aws
    ("if-else", "#if($a) one #else two #end", {"a": False}, " two "),
    ("if-elseif", "#if ($value1) one #elseif ($value2) two #end", {"value1": False, "value2": True}, " two "),  # aws
    ("if-first-true-branch", "#if($a)1#elseif($b)2#elseif($c)3#{else}4#end", {"a": False, "b": True, "c": True}, "2"),
    ("if-else-after-elseifs", "#if($a)1#elseif($b)2#{else}4#end", {"a": False, "b": False}, "4"),
    ("if-brace-forms", "#{if}(true)t#{else}f#{end}x", {}, "tx"),
    ("if-undefined-is-true-on-aws", "#if($some_value)hide me#end", {}, "hide me"),  # aws
    ("if-null-value-is-true-on-aws", "#if($m.k)yes#end", {"m": {"k": None}}, "yes"),  # aws (parseJson null)
    ("if-formal-chain-undefined", "#if(${a.b.c})yes!#end", {}, "yes!"),  # aws
    ("if-formal-chain-false", "#if(${a.b.c})yes!#end", {"a": {"b": {"c": False}}}, ""),  # aws
    ("if-empty-string-true", "#if($s)yes#end", {"s": ""}, "yes"),
    ("if-zero-true", "#if($n)yes#end", {"n": 0}, "yes"),
    ("if-empty-list-true", "#if($l)yes#end", {"l": []}, "yes"),
    ("if-null-literal-false", "#if(null)yes#{else}no#end", {}, "no"),
    ("not-false", "#if(!$v)yes#end", {"v": False}, "yes"),  # aws
    ("not-true", "#if(!$v)yes#end", {"v": True}, ""),  # aws
    ("not-undefined-on-aws", "#if(!$v)yes#end", {}, ""),  # aws
    ("not-word", "#if( not $v )yes#end", {"v": False}, "yes"),  # aws
    ("and", "#if($a && $b)yes#end", {"a": True, "b": False}, ""),  # aws
    ("and-word", "#if($a and $b)yes#end", {"a": True, "b": True}, "yes"),
    ("or", "#if($a || $b)yes#end", {"a": False, "b": True}, "yes"),  # aws
    ("or-word", "#if($a or $b)yes#end", {"a": False, "b": False}, ""),  # aws
    ("not-binds-tight", "#if(!$a && !$b)yes#end", {"a": False, "b": False}, "yes"),  # aws
    ("parenthesised", "#if ( ($a == 1) && ($b == 2) )yes#end", {"a": 1, "b": 2}, "yes"),  # aws
    ("multiterm", "#if ( $a == 1 && $b == 2 )yes#end", {"a": 1, "b": 1}, ""),  # aws
    ("gt", "#if($v > 1)yes#end", {"v": 2}, "yes"),  # aws
    ("gt-word", "#if($v gt 1)yes#end", {"v": 1}, ""),  # aws
    ("ge-word", "#if($v ge 1)yes#end", {"v": 1}, "yes"),  # aws
    ("lt", "#if($v < 1)yes#end", {"v": 0}, "yes"),  # aws
    ("le-word", "#if($v le 1)yes#end", {"v": 2}, ""),  # aws
    ("eq-word", "#if($v eq 1)yes#end", {"v": 1}, "yes"),  # aws
    ("ne", "#if($v != 1)yes#end", {"v": 1}, ""),
    ("ne-word", "#if($v ne 1)yes#end", {"v": 2}, "yes"),
    ("eq-int-double", "#if(1 == 1.0)yes#end", {}, "yes"),
    ("eq-string-number-by-tostring", "#if('1' == 1)yes#end", {}, "yes"),
    ("eq-bool-string-by-tostring", "#if(true == 'true')yes#end", {}, "yes"),
    ("eq-lists", "#if($l == [1, 2])yes#end", {"l": [1, 2]}, "yes"),
    ("eq-maps", "#if($m == {'a': 1})yes#end", {"m": {"a": 1}}, "yes"),
    ("eq-undefined-empty-on-aws", "#if($nope == '')yes#end", {}, "yes"),
    ("eq-interpolated-empty", '#if("$!nope" != "")set#{else}unset#end', {}, "unset"),
    ("lt-strings-false", "#if('a' < 'b')yes#{else}no#end", {}, "no"),
    ("compare-string-number-false", "#if('5' > 1)yes#{else}no#end", {}, "no"),
    ("nested-if", "Hello #if ($s)your name is ${n}.#if ($b) Happy Birthday.#end#end Good to see you",
     {"n": "Steve", "s": True, "b": True}, "Hello your name is Steve. Happy Birthday. Good to see you"),  # aws
    ("if-condition-with-method", "#if($s.startsWith('foo'))yes!#end", {"s": "foobar"}, "yes!"),  # aws
    ("if-contains-false", "#if($s.contains('x'))yes!#end", {"s": "foobar"}, ""),
]

LOOPS = [
    ("foreach-list", "#foreach($n in $names)Hello $n. #end", {"names": ["Chris", "Steve"]},
     "Hello Chris. Hello Steve. "),  # aws
    ("foreach-map-values", "#foreach($v in $m)$v,#end", {"m": {"a": 1, "b": 2}}, "1,2,"),
    ("foreach-keyset", "#foreach($k in $m.keySet())$k=$m.get($k);#end", {"m": {"a": 1, "b": 2}}, "a=1;b=2;"),
    ("foreach-range", "#foreach( $v in [1..5] )$v\n#end", {}, "1\n2\n3\n4\n5\n"),  # aws
    ("foreach-range-descending", "#foreach( $v in [5..-2] )$v,#end", {}, "5,4,3,2,1,0,-1,-2,"),  # aws
    ("foreach-range-variable", "#set($values = [2..-2])#foreach($v in $values)$v,#end", {}, "2,1,0,-1,-2,"),  # aws
    ("foreach-range-refs", "#set($s = 1)#set($e = 3)#foreach($i in [$s..$e])$i#end", {}, "123"),
    ("foreach-list-literal", "#foreach($i in [1, 'a', true])$i;#end", {}, "1;a;true;"),
    ("foreach-undefined-nothing", "#foreach($value in $values)foo#end", {}, ""),  # aws
    ("foreach-string-nothing", "#foreach($c in $s)x#end", {"s": "abc"}, ""),
    ("foreach-index-count-hasnext", "#foreach($i in ['a','b','c'])$foreach.index/$foreach.count/$foreach.hasNext #end",
     {}, "0/1/true 1/2/true 2/3/false "),
    ("foreach-first-last", "#foreach ($i in [1, 2, 3])$i. #if ($foreach.first)F#end#if($foreach.last)L#end #end", {},
     "1. F 2.  3. L "),  # aws (first / last)
    ("velocity-count", "#foreach ($w in $g)$velocityCount,#end", {"g": ["Hello", "Goodbye"]}, "1,2,"),  # aws
    ("velocity-has-next", "#foreach ($i in [1, 2, 3])$i. #if ($velocityHasNext)yes#end, #end", {},
     "1. yes, 2. yes, 3. , "),  # aws
    ("nested-loops-scoped-foreach", "#foreach ($j in [1,2])#foreach ($i in [3, 4])$foreach.count,#end$foreach.count|#end",
     {}, "1,2,1|1,2,2|"),  # aws
    ("nested-velocity-count", "#foreach ($w in $g)Outer $velocityCount#foreach ($w in $n), inner $velocityCount#end. #end",
     {"g": ["Hello", "Goodbye"], "n": ["Chris", "Steve"]}, "Outer 1, inner 1, inner 2. Outer 2, inner 1, inner 2. "),  # aws
    ("foreach-parent", "#foreach($a in [1,2])#foreach($b in [1])$foreach.parent.index#end#end", {}, "01"),
    ("loop-var-restored", "#set($i = 1)$i,#foreach ($i in [2, 3, 4])$i,#set($i = $i)#end$i", {}, "1,2,3,4,1"),  # aws
    ("loop-var-removed-after", "#foreach ($n in $l)$n. #end[$n]", {"l": ["a"]}, "a. []"),  # aws
    ("outer-var-assignable", "#set($var = 1)#foreach ($i in $items)$var,#set($var = $i)#end$var", {"items": [2, 3, 4]},
     "1,2,3,4"),  # aws
    ("break", "#foreach($i in [1..5])#if($i == 3)#break#end$i#end", {}, "12"),
    ("break-scope-arg", "#foreach($i in [1..5])$i#break($foreach)#end!", {}, "1!"),
    ("null-elements-undefined", "#foreach($x in $l)[$x]#end", {"l": [None, "a"]}, "[][a]"),
    ("foreach-entryset", "#foreach($e in $m.entrySet())$e.key=$e.value,$e.getKey()#end", {"m": {"a": 1}}, "a=1,a"),
    ("foreach-modify-during-loop", "#foreach($i in $l)#set($x = $l.add($i))#end$l", {"l": [1, 2]}, "[1,2,1,2]"),
    ("foreach-nested-array-literals",
     '#set($values = [["Hello ", "Steve"], ["Hello", " Chris"]])#foreach($pair in $values)#foreach($w in $pair)$w#end. #end',
     {}, "Hello Steve. Hello Chris. "),  # aws
    ("foreach-split", "#foreach($p in $s.split(','))[$p]#end", {"s": "a,b,,c,,"}, "[a][b][][c]"),
    ("foreach-brace-form", "#{foreach}($i in [1,2])$i#{end}", {}, "12"),
]

MACROS = [
    ("macro-no-args", "#macro(hello)hi#end#hello() #hello()", {}, "hi hi"),
    ("macro-args", "#macro(bold $v)<b>$v</b>#end#bold($text)", {"text": "x"}, "<b>x</b>"),
    ("macro-two-args-commas", "#macro(add $a, $b)$a+$b#end#add(1, 2)", {}, "1+2"),
    ("macro-args-newline", "#macro (hello $a $b )hello $a and $b#end\n#hello (1,\n 2)", {}, "hello 1 and 2"),
    ("macro-recursive", "#macro ( recur $n)#if ($n > 0)#set($n = $n - 1)#recur($n)X#end#end#recur(5)", {}, "XXXXX"),
    ("macro-defined-later", "#later(1)#macro(later $x)L$x#end", {}, "L1"),
    ("macro-missing-arg-undefined", "#macro(m $a $b)[$a|$b]#end#m(1)", {}, "[1|]"),
    ("macro-params-restored", "#set($a = 'outer')#macro(m $a)$a#end#m('inner') $a", {}, "inner outer"),
    ("macro-sets-global", "#macro(m)#set($g = 1)#end#m()$g", {}, "1"),
    ("macro-in-string", '#macro(hi $p)$p says hello#end#set($h = "#hi($name)")$h', {"name": "Steve"},
     "Steve says hello"),
    ("macro-break-leaves-macro", "#macro(m)a#break b#end#m()c", {}, "ac"),
    ("define", "#define( $hello)hi#end$hello()$hello()", {}, "hi()hi()"),  # aws
    ("define-late-binding", "#define($f)$ctx#end#set($ctx = 'foo')$f #set($ctx = 'bar')$f", {}, "foobar"),
    ("define-in-loop", "#define ( $showindex )$foreach.index#end#foreach($x in [1,2,3])$showindex#end", {}, "012"),  # aws
    ("define-in-string", '#define($b)B#end#set($s = "<$b>")$s', {}, "<B>"),
    ("stop", "hello #stop world", {}, "hello "),  # aws
    ("stop-in-loop", "#foreach($i in [1..3])$i#if($i == 2)#stop#end#end after", {}, "12"),
    ("break-at-top-level", "a#break b", {}, "a"),
    ("literal-directive", "#literal()$x #foo#end", {"x": 1}, "$x #foo"),
    ("unknown-call-keeps-newline", "#evaluate($x)\nnext", {"x": "1"}, "#evaluate($x)\nnext"),
]

STRINGS = [
    ("interpolation", '#set($h = "hello, $name is my name")$h', {"name": "Steve"}, "hello, Steve is my name"),  # aws
    ("interp-escaped-ref", '#set($h = "hello, \\$name is my name")$h', {"name": "Steve"}, "hello, $name is my name"),  # aws
    ("single-quotes-no-interp", "#set($s = '$name')$s", {"name": "x"}, "$name"),
    ("single-quote-doubled", "#set($s = 'it''s')$s", {}, "it's"),
    ("double-quote-doubled", '#set($d = "{""a"": 2}")$d', {}, '{"a": 2}'),  # aws
    ("double-quotes-in-single", "#set($d = '{\"a\": 2}')$d", {}, '{"a": 2}'),  # aws
    ("backslashes-kept", '#set($d = "1\\\\""2""3")$d', {}, '1\\\\"2"3'),  # aws
    ("no-backslash-escapes", '#set ($name = "\\\\batman\\nand robin")$name', {}, "\\\\batman\\nand robin"),  # aws
    ("unicode-escape", '#set($s = "caf\\u00e9")$s', {}, "café"),
    ("unicode-escape-single-kept", "#set($s = 'caf\\u00e9')$s", {}, "caf\\u00e9"),
    ("directive-in-string", '#set($s = "#if($a)yes#{else}no#end")$s', {"a": True}, "yes"),
    ("loop-in-string", '#set($s = "#foreach($i in [1..3])$i#end")$s', {}, "123"),
    ("string-with-line-comment", '#set($s = "a ## b")[$s]', {}, "[a ]"),
    ("string-hash-not-directive", '#set($s = "a#b")$s', {}, "a#b"),
    ("string-dollar-not-ref", '#set($s = "a$ b")$s', {}, "a$ b"),
    ("string-method-arg-interpolated", '$m.get("k$i")', {"m": {"k1": "one"}, "i": 1}, "one"),
    ("string-newline-inside", '#set($s = "a\nb")$s', {}, "a\nb"),
    ("string-trailing-space-kept", '#set($s = "$a ")[$s]', {"a": 1}, "[1 ]"),
    ("concat-plus", "#set($s = 'a' + $b + 1)$s", {"b": "B"}, "aB1"),
]

ARITHMETIC = [
    ("add", "#set($a = 2 + 3)$a", {}, "5"),
    ("precedence", "#set($a = 5 * 4 - 2)$a", {}, "18"),  # aws
    ("precedence-reverse", "#set($a = 2 + 5 * 4)$a", {}, "22"),  # aws
    ("int-division-truncates", "#set($a = 7 / 2)$a #set($b = -7 / 2)$b", {}, "3-3"),
    ("modulo-sign-of-dividend", "#set($a = -7 % 3)$a #set($b = 7 % -3)$b", {}, "-11"),
    ("modulus-aws", "#set( $modulus = ($value % 2) )$modulus", {"value": 3}, "1"),  # aws
    ("double-division", "#set($a = 100.0 / 50)$a", {}, "2.0"),  # aws
    ("double-leading-dot", "#set($x = .5*.1)$x", {}, "0.05"),  # aws
    ("double-times-int", "#set($x = 1.5 * 2)$x", {}, "3.0"),
    ("big-int", "#set($x = 2147483647 + 1)$x", {}, "2147483648"),
    ("minus-without-spaces", "#set($a = 5-1)$a", {}, "4"),
    ("negative-literal", "#set($a = -5)$a", {}, "-5"),
    ("string-plus-number", "#set($a = 1 + 2 + 'x')$a", {}, "3x"),
    ("list-plus-string", "#set($a = [1] + 'z')$a", {}, "[1]z"),
    ("bool-plus-number-null", "#set($a = 'kept')#set($a = true + 1)$a", {}, "kept"),
    ("mod-zero-null", "#set($a = 'kept')#set($a = 5 % 0)$a", {}, "kept"),
    ("math-on-string-null", "#set($a = 'kept')#set($a = '5' * 2)$a", {}, "kept"),
]

JAVA_STRINGS = [
    ("length", "$s.length()", {"s": "foobar123"}, "9"),  # aws
    ("replace-all", "$s.replaceAll('ba.', 'foo')", {"s": "foobar123bab"}, "foofoo123foo"),  # aws
    ("replace-all-groups", "$s.replaceAll('(a)(b)', '$2$1-\\$')", {"s": "abc"}, "ba-$c"),
    ("replace-all-quote-fix", "$s.replaceAll(\"\\\\'\", \"'\")", {"s": "it\\'s"}, "it's"),
    ("replace-first", "$s.replaceFirst('o', '0')", {"s": "foo"}, "f0o"),
    ("replace-literal", "$s.replace('.', '!')", {"s": "a.b.c"}, "a!b!c"),
    ("matches-true", "#set( $myString = '123456789' )$myString.matches( '[0-9]*' )", {}, "true"),  # aws
    ("matches-false", "#set( $myString = 'd123' )$myString.matches( '[0-9]*' )", {}, "false"),  # aws
    ("matches-date", "$s.matches('^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:00\\.000Z$')", {"s": "2020-01-20T08:00:00.000Z"},
     "true"),  # aws
    ("substring", "$s.substring(3, 6) $s.substring(6)", {"s": "something"}, "eth ing"),  # aws
    ("index-of", "$s.indexOf('e') $s.indexOf('x') $s.indexOf('t', 5) $s.lastIndexOf('o')", {"s": "something"},
     "3 -1 -1 1"),  # aws: indexOf('e')
    ("char-at", "$s.charAt(1)", {"s": "abc"}, "b"),
    ("split-size", "$s.split(',').size() $s.split(',')[1] $s.split(',', -1).size()", {"s": "a,b,,c,,"}, "4 b 6"),
    ("split-regex", "#foreach($p in $s.split('\\s*;\\s*'))<$p>#end", {"s": "a ; b;c"}, "<a><b><c>"),
    ("trim-case", "[$s.trim()] $s.toUpperCase() $s.toLowerCase()", {"s": " Ab "}, "[Ab]  AB   ab "),
    ("contains-starts-ends", "$s.contains('oo') $s.startsWith('f') $s.endsWith('x') $s.startsWith('o', 1)",
     {"s": "foo"}, "true true false true"),
    ("equals", "$s.equals('foo') $s.equalsIgnoreCase('FOO') $s.equals(1)", {"s": "foo"}, "true true false"),
    ("is-empty-property", "$s.isEmpty() $s.empty $e.empty", {"s": "x", "e": ""}, "false false true"),
    ("concat-compare", "$s.concat('!') $s.compareTo('fop') $s.compareTo('foo')", {"s": "foo"}, "foo! -1 0"),
    ("hash-code", "$s.hashCode()", {"s": "hello"}, "99162322"),
    ("value-of", "$s.valueOf(12)", {"s": ""}, "12"),
    ("unknown-method-undefined", "[$s.nope()] [$s.substring('x')]", {"s": "abc"}, "[] []"),
    ("string-index-undefined", "[$s[0]]", {"s": "abc"}, "[]"),
]

JAVA_COLLECTIONS = [
    ("list-size-contains-get", "#set($foo = [1,2,3]) $foo.size() $foo.contains(1) $foo.contains(10) $foo.get(1)",
     {}, " 3 true false 2"),  # aws
    ("list-is-empty", "#set($foo = [1, 2, 3]) $foo.isEmpty()", {}, " false"),  # aws
    ("list-add", "#set($foo = [1,2,3])#set( $ignore = $foo.add('string value') )#foreach($item in $foo)$item,#end", {},
     "1,2,3,string value,"),  # aws
    ("list-add-returns-true", "#set($l = [])$l.add(1) $l", {}, "true [1]"),
    ("list-add-at", "#set($l = [1, 3])#set($x = $l.add(1, 2))$l", {}, "[1, 2, 3]"),
    ("list-set-remove", "#set($l = ['a', 'b', 'c'])$l.set(0, 'z') $l.remove(1) $l.remove('c') $l", {}, "a b true [z]"),
    ("list-index-of-contains-java-equals", "#set($l = [1, '1', true])$l.indexOf('1') $l.contains(1.0) $l.indexOf(true)",
     {}, "1 false 2"),
    ("list-add-all-sublist", "#set($l = [1])#set($x = $l.addAll([2, 3]))$l $l.subList(1, 3)", {}, "[1, 2, 3] [2, 3]"),
    ("list-clear", "#set($l = [1])[$l.clear()] $l", {}, "[] []"),
    ("index-after-call", "#set($l = [1])$l.clear()[$l]", {}, ""),
    ("json-array-prints-json", "$l", {"l": ["a", 1, None, {"k": "v/w"}]}, '["a",1,null,{"k":"v\\/w"}]'),
    ("json-array-inside-map", "$m", {"m": {"tags": ["a", "b"], "n": None}}, '{tags=["a","b"], n=null}'),
    ("array-list-prints-java", "#set($l = ['a', {'k': 'v'}, [1]])$l", {}, "[a, {k=v}, [1]]"),
    ("map-to-string", "#set( $o = {'k1': 'v1', 'k2': 'v2'} )$o.toString()", {}, "{k1=v1, k2=v2}"),  # aws
    ("map-methods", "$m.size() $m.containsKey('a') $m.containsKey('z') $m.containsValue(2) $m.isEmpty()",
     {"m": {"a": 1, "b": 2}}, "2 true false true false"),
    ("map-keyset-values-entryset", "$m.keySet() $m.values() $m.entrySet()", {"m": {"a": 1, "b": "x"}},
     "[a, b] [1, x] [a=1, b=x]"),
    ("map-put-returns-previous", "#set( $ignore = $d.put('k', 'new value') )$ignore - $d.k", {"d": {"k": "initial value"}},
     "initial value - new value"),  # aws
    ("map-put-all", "#set( $ignore = $d.putAll({'k1': 'v3', 'k2': 'v2'}))$d.k1 - $d.k2", {"d": {"k1": "v1"}},
     "v3 - v2"),  # aws
    ("map-remove", "$m.remove('a') $m", {"m": {"a": 1, "b": 2}}, "1 {b=2}"),
    ("map-put-null", '#set( $m = {} )#set($ignore = $m.put(\'k\', null))#if("$m.k" == "")none#{else}some#end', {},
     "none"),  # aws
    ("map-get-or-default", "$m.getOrDefault('x', 'd')", {"m": {}}, "d"),
    ("map-int-key", "#set($m = {1: 'one'})$m.get(1) [$m.get('1')]", {}, "one []"),
    ("map-property-not-method", "[$m.size]", {"m": {"a": 1}}, "[]"),
    ("list-empty-property", "$l.empty", {"l": []}, "true"),
    ("entry-set-value", "#foreach($e in $m.entrySet())#set($x = $e.setValue(9))#end$m", {"m": {"a": 1}}, "{a=9}"),
]

NUMBERS = [
    ("double-plain", "#set($d = 1.5)$d|#set($e = 2.0)$e|#set($f = 0.001)$f", {}, "1.5|2.0|0.001"),
    ("double-exponent", "#set($d = 1.5E10)$d|#set($e = 0.0001)$e|#set($f = 12345678.9)$f", {},
     "1.5E10|1.0E-4|1.23456789E7"),
    ("double-from-host", "$d $n", {"d": 10000000.0, "n": -0.5}, "1.0E7 -0.5"),
    ("number-methods", "#set($n = 7)$n.doubleValue() $n.toString() $n.intValue()", {}, "7.0 7 7"),
    ("double-int-value", "#set($d = 3.99)$d.intValue() $d.longValue()", {}, "3 3"),
    ("bool-to-string", "$b $b.toString()", {"b": False}, "false false"),
    ("big-integer", "$n", {"n": 2**70}, str(2**70)),
]

HOSTS = [
    ("host-property", "$h.name", {}, "hal"),
    ("host-getter-fallback", "$h.getName()", {}, "hal"),
    ("host-method", "$h.greet('x')", {}, "hi x"),
    ("host-json", "$h.json('$')", {}, '{"a":1}'),
    ("host-params-map", "$h.params().path.id $h.params('id') [$h.params('nope')]", {}, "7 7 []"),
    ("host-missing-property", "[$h.nope]", {}, "[]"),
    ("host-missing-method", "[$h.nope()]", {}, "[]"),
    ("host-null-property", "[$h.nothing]", {}, "[]"),
    ("host-null-method", "[$h.none()]", {}, "[]"),
    ("host-renders-vtl-str", "[$h]", {}, "[<host>]"),
    ("host-map-property", "$h.inner.k", {}, "v"),
    ("host-index-uses-get", "[$h['x']]", {}, "[]"),
    ("host-args", "$h.echo(1, 'a', true, null, $x)", {"x": 2.5}, "(1, 'a', True, None, 2.5)"),
]

WHITESPACE = [
    ("set-line-swallowed", "#set($a = 1)\n$a\n", {}, "1\n"),
    ("set-indent-after-directive-swallowed", "#foreach($i in [1])\n    #set($x = $i)\n    <$x>\n#end", {}, "    <1>\n"),
    ("set-indent-after-text-kept", "a\n    #set($x = 1)\nb", {}, "a\n    b"),
    ("set-space-after-reference-swallowed", "$a #set($b = 2)$b", {"a": 1}, "12"),
    ("if-line-swallowed", "#if(true)\nyes\n#end\nafter", {}, "yes\nafter"),
    ("if-indent-kept", "{\n    #if(true)\n    \"a\": 1\n    #end\n}", {}, '{\n        "a": 1\n    }'),
    ("else-line-swallowed", "#if(false)\nx\n#else\ny\n#end\n", {}, "y\n"),
    ("end-trailing-spaces-swallowed", "#if(true)a#end   \nb", {}, "ab"),
    ("end-then-text-kept", "#if(true)a#end b", {}, "a b"),
    ("rparen-spaces-no-newline-kept", "#if(true)  x#end", {}, "  x"),
    ("foreach-lines", "#foreach($i in [1,2])\n$i\n#end\n", {}, "1\n2\n"),
    ("comment-line-gone", "a\n## comment\nb", {}, "a\nb"),
    ("if-whitespace-aws", "\n#if(true)\nhello##\n#end", {}, "\nhello"),  # aws
    ("new-lines-aws", "hello #if ($g)${n}.\n#if($b)Happy Birthday\n#end.\n#end Off out later?",
     {"n": "Steve", "g": True, "b": True}, "hello Steve.\nHappy Birthday\n.\n Off out later?"),  # aws
    ("array-literal-aws", 'blah\n#set($v = ["Hello ", $p, ", your lucky number is ", 7])\n#foreach($x in $v)$x#end\n\nblah',
     {"p": "Chris"}, "blah\nHello Chris, your lucky number is 7\nblah"),  # aws
    ("crlf-gobbled", "#set($a = 1)\r\n$a", {}, "1"),
    ("macro-line-swallowed", "#macro(m)x#end\n#m()\ny", {}, "xy"),
]

ESCAPES = [
    ("escaped-defined-ref", "\\$a", {"a": 1}, "$a"),
    ("escaped-undefined-ref-aws", "\\$a", {}, "$a"),
    ("double-backslash-ref", "\\\\$a", {"a": 1}, "\\1"),
    ("triple-backslash-ref", "\\\\\\$a", {"a": 1}, "\\$a"),
    ("escaped-quiet-formal", "\\$!{a}", {"a": 1}, "$!{a}"),
    ("escaped-if", "\\#if($a)", {"a": 1}, "#if(1)"),
    ("escaped-end", "\\#end \\#{else}", {}, "#end #{else}"),
    ("escaped-unknown-word", "\\#foo", {}, "\\#foo"),
    ("double-escape-before-if", "\\\\#if(true)x#end", {}, "\\x"),
    ("double-escape-before-word", "\\\\#foo", {}, "\\\\#foo"),
    ("backslash-text", "a\\b \\ \\\\", {}, "a\\b \\ \\\\"),
    ("slash-bang", "$\\!foo", {}, "$!foo"),
    ("velocity-doc-escaping",
     '\n#set( $email = "foo" )\n$email\n\\$email\n\\\\$email\n\\\n\\\\ \\# \\$\n\\#end\n\\# end\n\\#set( $email = "foo" )\n',
     {}, '\nfoo\n$email\n\\foo\n\\\n\\\\ \\# \\$\n#end\n\\# end\n#set( foo = "foo" )\n'),  # aws
]

AWS_GOLDEN = [
    ("aws-multiline-map-indent", textwrap.dedent('''
        #set( $myObject = {
          "userId": "user1",
          "domain": "domain1"
        } )
        {
          "key": "$myObject.userId",
          "domain": "$myObject.domain"
        }
        ''').replace("\n", "\n        ")[:-8],
     {}, '\n                {\n          "key": "user1",\n          "domain": "domain1"\n        }\n'),
    ("aws-define-twice", textwrap.dedent("""
        #define( $myfunc )$ctx#end
        #set( $ctx = 'foo' )
        $myfunc
        #set( $ctx = 'bar' )
        $myfunc
        """), {}, "\nfoo\nbar\n"),
    ("aws-float-division", "#set($a = 100.0 / 50)$a", {}, "2.0"),
    ("aws-foreach-with-expression", "#foreach ($name in $names)Hello $you. #end", {"you": "You", "names": ["C", "S"]},
     "Hello You. Hello You. "),
    ("aws-foreach-in-failing-if", "#if ($f)#foreach ($n in $names)Hello you. #end#end", {"f": False, "names": ["C"]}, ""),
    ("aws-unmatched-name", "Hello $name", {}, "Hello "),
    ("aws-dollar-left", "Hello $ ", {}, "Hello $ "),
    ("aws-comments", "## comment\nStuff\nMore stuff## more comments $blah", {}, "Stuff\nMore stuff"),
    ("aws-multiline-comment", "Stuff#*\n more comments *#\n and more stuff", {}, "Stuff\n and more stuff"),
    ("aws-curly-else", "#if($value)true#{else}false#end", {"value": False}, "false"),
    ("aws-curly-end", "#if($value)true#{end}monkey", {"value": True}, "truemonkey"),
    ("aws-standalone-hash-link", '<a href="#">bob</a>', {}, '<a href="#">bob</a>'),
]

CASES = TEXT + REFERENCES + SETS + CONDITIONS + LOOPS + MACROS + STRINGS + ARITHMETIC + JAVA_STRINGS + \
    JAVA_COLLECTIONS + NUMBERS + HOSTS + WHITESPACE + ESCAPES + AWS_GOLDEN


@pytest.mark.parametrize(("template", "variables", "expected"),
                         [pytest.param(t, v, e, id=name) for name, t, v, e in CASES])
def test_render(template: str, variables: dict[str, Any], expected: str | None) -> None:
    variables = {"h": host(), **variables}
    output = render(template, variables)
    if expected is not None:
        assert output == expected


def test_there_are_enough_cases() -> None:
    assert len(CASES) >= 120
    assert len({name for name, *_ in CASES}) == len(CASES)


def test_method_arguments_reach_host_objects_as_template_values() -> None:
    h = host()
    render("$h.echo(1, 'a', \"b$x\", true, null, [1], {'k': 2}, $x, 1.5)", {"h": h, "x": 5})
    assert h.calls == [("echo", [1, "a", "b5", True, None, [1], {"k": 2}, 5, 1.5])]


# ----------------------------------------------------------------------------------------------------------------------
# Stock Velocity null handling and AWS's macro handling (compile options)

VELOCITY_NULLS = [
    ("if-undefined-false", "#if($x)yes#{else}no#end", {}, "no"),
    ("if-null-value-false", "#if($m.k)yes#{else}no#end", {"m": {"k": None}}, "no"),
    ("not-undefined-true", "#if(!$x)yes#end", {}, "yes"),
    ("set-undefined-keeps-value", "#set($x = 1)#set($x = $nope)$x", {}, "1"),
    ("undefined-not-empty-string", "#if($x == '')eq#{else}ne#end", {}, "ne"),
    ("undefined-equals-undefined", "#if($x == $y)eq#end", {}, "eq"),
    ("escaped-undefined-keeps-backslash", "\\$x \\$!x", {}, "\\$x \\$!x"),
    ("undefined-still-renders-empty", "[$x][$!x]", {}, "[][]"),
    ("defined-unchanged", "#if($x)$x#end", {"x": "v"}, "v"),
]


@pytest.mark.parametrize(("template", "variables", "expected"),
                         [pytest.param(t, v, e, id=name) for name, t, v, e in VELOCITY_NULLS])
def test_velocity_nulls(template: str, variables: dict[str, Any], expected: str) -> None:
    assert render(template, variables, velocity_nulls=True) == expected


@pytest.mark.parametrize(("template", "expected"), [
    ("#macro ( recur $n)#if ($n > 0)#set($n = $n - 1)#recur($n)X#end#end#recur(5)", "#recur(5)"),  # aws
    ("\n#macro ( blah )\nhello##\n#end\n#blah()", "\n#blah()"),  # aws
    ("#macro(tryme)$values#end#tryme()", "#tryme()"),  # aws
])
def test_macros_disabled_like_aws(template: str, expected: str) -> None:
    assert render(template, macros=False) == expected


# ----------------------------------------------------------------------------------------------------------------------
# Compiled template object


def test_static_templates_have_their_output_precomputed() -> None:
    assert compile_vtl('{"statusCode": 200}').static == '{"statusCode": 200}'
    assert compile_vtl("a ## note\nb #[[$x]]# \\#foo #bar()").static == "a b $x \\#foo #bar()"
    assert compile_vtl("$x").static is None
    assert compile_vtl("#set($a = 1)").static is None
    template = compile_vtl("static")
    assert isinstance(template, CompiledTemplate)
    assert template.source == "static" and template.render({}) == "static"


def test_compiled_once_rendered_many_times() -> None:
    template = compile_vtl("#set($n = $n + 1)$n,#foreach($i in $l)$i#end")
    assert template.render({"n": 1, "l": [1, 2]}) == "2,12"
    assert template.render({"n": 10, "l": []}) == "11,"
    assert template.render({"n": 0, "l": ["x"]}) == "1,x"


def test_top_level_set_does_not_touch_callers_dict_but_nested_maps_are_written() -> None:
    context = {"requestOverride": {"header": {}, "querystring": {}, "path": {}}, "responseOverride": {"status": None}}
    variables: dict[str, Any] = {"context": context, "x": 1}
    output = render(
        "#set($x = 2)#set($y = 3)"
        '#set($context.requestOverride.header.X-Override = "yes")'
        "#set($context.requestOverride.querystring['q'] = 'v')"
        "#set($context.responseOverride.status = 444)"
        "$x$y $context.responseOverride.status",
        variables,
    )
    assert output == "23 444"
    assert variables == {"context": context, "x": 1}
    assert context["requestOverride"]["header"] == {"X-Override": "yes"}
    assert context["requestOverride"]["querystring"] == {"q": "v"}
    assert context["responseOverride"]["status"] == 444


def test_host_errors_propagate_unchanged() -> None:
    class Boom(Exception):
        pass

    def fail(*_args: Any) -> Any:
        raise Boom("bad")

    with pytest.raises(Boom):
        render("$h.fail()", {"h": Host(methods={"fail": fail})})


# ----------------------------------------------------------------------------------------------------------------------
# Syntax errors: (template, line, column, part of the message)

SYNTAX_ERRORS = [
    ("#if($x)\nabc", 1, 1, "#if without a matching #end"),
    ("text\n  #if(true)\n#foreach($i in $l)\n#end", 2, 3, "#if without a matching #end"),
    ("abc\n  #end", 2, 3, "#end without a directive"),
    ("#else", 1, 1, "#else without a matching #if"),
    ("#foreach($i in [1])#elseif(true)#end", 1, 20, "#elseif without"),
    ("#if (true)\n#else\n#elseif(true)\n#end", 3, 1, "#elseif without"),
    ("#set(x = 1)", 1, 6, "after #set("),
    ("#set($x 1)", 1, 9, "'=' in #set"),
    ("#set($x == 1)", 1, 9, "'=' in #set"),
    ("#set($a=1", 1, 10, "')' to close #set"),
    ("#set($x = 'abc)", 1, 11, "unterminated string"),
    ('a\n#set($x = "abc)\n', 2, 11, "unterminated string"),
    ("x ${foo", 1, 8, "'}'"),
    ("#foreach($i $list)#end", 1, 13, "'in'"),
    ("#foreach($i in [1,2])", 1, 1, "#foreach without a matching #end"),
    ("#foreach($a.b in $l)#end", 1, 10, "plain variable"),
    ("#if($a == )#end", 1, 11, "expected a value"),
    ("#if", 1, 1, "must be followed by '('"),
    ("#if($a) #elseif $b #end", 1, 9, "must be followed by '('"),
    ("a\n#* never closed", 2, 1, "unterminated comment"),
    ("#[[ abc", 1, 1, "unterminated #[["),
    ("$a.b(1,", 1, 8, "expected a value"),
    ("$a.b(1 2)", 1, 8, "',' or ')'"),
    ("$a[]", 1, 4, "expected a value"),
    ("$a[1", 1, 5, "']'"),
    ('{"statusCode": 200}\n#if($x', 2, 7, "')'"),
    ('#set($a = "x $b.c(")', 1, 20, "expected a value"),
    ("#set($a = [1, 2)", 1, 16, "',' or ']'"),
    ("#set($a = {'a' 1})", 1, 16, "':'"),
    ("#set($a = -$b)", 1, 11, "expected a value"),
    ("#set($a = 1 +)", 1, 14, "expected a value"),
    ("#macro(foo $a)x", 1, 1, "#macro without a matching #end"),
    ("#macro(if)x#end", 1, 8, "cannot be used as a macro name"),
    ("#macro($a)x#end", 1, 8, "macro name"),
    ("#define($x)y", 1, 1, "#define without a matching #end"),
    ("\t#if(1 <)\n#end", 1, 9, "expected a value"),
]


@pytest.mark.parametrize(("template", "line", "column", "message"), SYNTAX_ERRORS)
def test_syntax_errors(template: str, line: int, column: int, message: str) -> None:
    with pytest.raises(TemplateSyntaxError) as caught:
        compile_vtl(template)
    error = caught.value
    assert (error.line, error.column) == (line, column), str(error)
    assert message in error.message
    assert str(error) == f"line {line}, column {column}: {error.message}"


# ----------------------------------------------------------------------------------------------------------------------
# Failures while rendering (AWS answers 500)

RUNTIME_ERRORS = [
    ("$s.substring(10)", {"s": "abc"}, "StringIndexOutOfBoundsException"),
    ("$s.substring(2, 1)", {"s": "abc"}, "StringIndexOutOfBoundsException"),
    ("$s.charAt(5)", {"s": "abc"}, "StringIndexOutOfBoundsException"),
    ("$l.get(5)", {"l": [1]}, "IndexOutOfBoundsException"),
    ("$l[5]", {"l": [1]}, "IndexOutOfBoundsException"),
    ("$l[-2]", {"l": [1]}, "IndexOutOfBoundsException"),
    ("#set($l[3] = 1)", {"l": [1]}, "IndexOutOfBoundsException"),
    ("$s.matches('(')", {"s": "abc"}, "PatternSyntaxException"),
    ("$s.replaceAll('a', '$2')", {"s": "abc"}, "No group 2"),
    ("$s.replaceAll('a', 'x\\')", {"s": "abc"}, "IllegalArgumentException"),
    ("$s.concat(null)", {"s": "abc"}, "NullPointerException"),
    ("$s.split(',').add('x')", {"s": "a,b"}, "UnsupportedOperationException"),
]


@pytest.mark.parametrize(("template", "variables", "message"), RUNTIME_ERRORS)
def test_runtime_errors(template: str, variables: dict[str, Any], message: str) -> None:
    with pytest.raises(TemplateRuntimeError, match=message):
        render(template, variables)


def test_foreach_stops_after_max_loop_iterations() -> None:
    assert MAX_LOOP == 1000
    assert render("#foreach($i in [1..5000])#set($last = $i)#end$last") == "1000"
    output = render("#foreach($i in $l)x#end", {"l": list(range(1500))})
    assert output == "x" * 1000
    assert render("#foreach($i in [1..1001])#if(!$foreach.hasNext)last#end#end") == ""


def test_output_limit() -> None:
    assert MAX_OUTPUT == 1_000_000
    with pytest.raises(TemplateRuntimeError, match="output exceeds"):
        render("#foreach($i in [1..1000])#foreach($j in [1..1000])xxxxxxxxxx#end#end")
    with pytest.raises(TemplateRuntimeError, match="output exceeds"):
        render("$big", {"big": "x" * (MAX_OUTPUT + 1)})
    assert len(render("$big", {"big": "x" * MAX_OUTPUT})) == MAX_OUTPUT


def test_total_iterations_are_bounded() -> None:
    with pytest.raises(TemplateRuntimeError, match="iterations"):
        render("#foreach($i in [1..1000])#foreach($j in [1..1000])#foreach($k in [1..1000])#end#end#end")


def test_macro_recursion_limit() -> None:
    with pytest.raises(TemplateRuntimeError, match="nested more than 50"):
        render("#macro(r)#r()#end#r()")
    assert render("#macro(r $n)#if($n > 0)#set($n = $n - 1)#r($n)#end#end#r(45)ok") == "ok"
    with pytest.raises(TemplateRuntimeError, match="nested more than 50"):
        render("#define($a)$a#end$a")


def test_strings_and_collections_cannot_grow_without_bound() -> None:
    with pytest.raises(TemplateRuntimeError, match="string exceeds"):
        render('#set($s = "xxxxxxxxxx")#foreach($i in [1..30])#set($s = "$s$s")#end')
    with pytest.raises(TemplateRuntimeError, match="collection exceeds"):
        render("#set($l = [1])#foreach($i in [1..40])#set($x = $l.addAll($l))#end")
    with pytest.raises(TemplateRuntimeError, match="range"):
        render("#set($r = [1..100000000])")


def test_deep_nesting_compiles() -> None:
    loops = "#foreach($i in [1])" * 30 + "x" + "#end" * 30
    assert render(loops) == "x"
    ifs = "#if(true)" * 120 + "y" + "#end" * 120
    assert render(ifs) == "y"
    breaking = "#foreach($j in [1,2])$j" + "#if(true)" * 60 + "#break" + "#{end}" * 60 + "no#end!"
    assert render(breaking) == "1!"
    assert render("$a" + ".b" * 300, {"a": {}}) == ""
    with pytest.raises(TemplateSyntaxError, match="nested too deeply"):
        compile_vtl("#set($x = " + "(" * 300 + "1" + ")" * 300 + ")")


# -- #define and macro expansion counts against the limits -----------------------------------------------------------

def _doubling_defines(base: str, levels: int) -> str:
    blocks = f"#define($a0){base}#end" + "".join(f"#define($a{i})$a{i - 1}$a{i - 1}#end" for i in range(1, levels + 1))
    return f"{blocks}$a{levels}"


def _doubling_macros(base: str, levels: int) -> str:
    macros = f"#macro(m0){base}#end" + "".join(f"#macro(m{i})#m{i - 1}()#m{i - 1}()#end" for i in range(1, levels + 1))
    return f"{macros}#m{levels}()"


@pytest.mark.parametrize("source", [_doubling_defines("xx", 30), _doubling_defines("", 30),
                                    _doubling_defines("x" * 10_000, 12), _doubling_macros("xx", 30),
                                    _doubling_macros("", 30), _doubling_macros("x" * 10_000, 12)],
                         ids=["defines", "empty-defines", "wide-defines", "macros", "empty-macros", "wide-macros"])
def test_doubling_expansion_fails_fast(source: str) -> None:
    start = time.monotonic()
    with pytest.raises(TemplateRuntimeError):
        compile_vtl(source).render({})
    assert time.monotonic() - start < 2


def test_moderate_expansion_still_renders() -> None:
    assert compile_vtl(_doubling_defines("xx", 10)).render({}) == "x" * 2048
    assert compile_vtl(_doubling_macros("xx", 10)).render({}) == "x" * 2048
    # a block printed within the output cap, many times over many iterations
    looped = "#define($b)$i,#end#foreach($i in [1..1000])$b#end"
    assert compile_vtl(looped).render({}).count(",") == 1000


# -- regular expressions are bounded in time ---------------------------------------------------------------------------

@pytest.mark.parametrize("call", ["matches('(a|aa)+b')", "replaceAll('(a|aa)+b', 'x')", "split('(a|aa)+b')",
                                  "replaceFirst('(a|aa)+b', 'x')"])
def test_runaway_regex_fails_the_render(call: str) -> None:
    start = time.monotonic()
    with pytest.raises(TemplateRuntimeError, match="time bound"):
        compile_vtl(f"$s.{call}").render({"s": "a" * 40 + "!"})
    assert time.monotonic() - start < 2
