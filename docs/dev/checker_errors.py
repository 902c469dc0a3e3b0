#!/usr/bin/env python3
"""checker_errors.py - regenerate section 13 ("Checker errors") of
docs/language.md.

Runs every minimal example below through `aggc --check` and writes what it
prints between the BEGIN/END checker-errors markers, so the reference
quotes the compiler exactly.  Add a case when a diagnostic is added.

    python3 docs/dev/checker_errors.py path/to/aggc
"""
import json
import os
import re
import subprocess
import sys
import tempfile

BASE = {
 "domain": "domain d;",
 "top": "",
 "state": "    state { total: int = 0; }",
 "commands": "    command Add { amount: int; }",
 "events": "    event Added { amount: int; }",
 "executes": "    execute Add { emit Added { amount = command.amount; } }",
 "applies": "    apply Added { total += event.amount; }",
 "proj": "",
 "after": "",
}
def build(o):
    b = dict(BASE); b.update(o)
    parts = [b["domain"]]
    if b["top"]: parts.append(b["top"])
    parts.append("aggregate Counter {")
    for k in ("state", "commands", "events", "executes", "applies", "proj"):
        if b[k]: parts.append(b[k])
    parts.append("}")
    if b["after"]: parts.append(b["after"])
    return "\n".join(parts) + "\n"
def show(o):
    lines = []
    for k in ("domain", "top", "state", "commands", "events", "executes", "applies", "proj", "after"):
        if k in o and o[k]:
            lines.append(o[k] if k in ("domain", "top", "after") else "\n".join(l[4:] if l.startswith("    ") else l for l in o[k].split("\n")))
    return "\n".join(lines)
CASES = []
def case(group, o, raw=None, showtext=None):
    """group: section; o: slots of BASE to replace; raw: the whole file as
    bytes instead; showtext: what the doc shows instead of the slots."""
    CASES.append((group, o, raw, showtext))
# ---------------------------------------------------------------- lexical
case("lex", {"state": "    state { name: string = \"a\\qb\"; }"})
case("lex", {"state": "    state { name: string = \"\\u00\"; }"})
case("lex", {"state": "    state { name: string = \"a\\u0000b\"; }"})
case("lex", {"state": "    state { name: string = \"\\uD800\"; }"})
case("lex", {"state": "    state { name: string = \"abc; }"})
case("lex", {"after": "/* never closed"})
case("lex", {"state": "    state { total: int = 9223372036854775808; }"})
case("lex", {"state": "    state { ratio: float = 1e999; }"})
case("lex", {"state": "    state { total: int = 12abc; }"})
case("lex", {"executes": "    execute Add { require command.amount > 0 & command.amount < 9 else bad; emit Added { amount = command.amount; } }"})
case("lex", {"state": "    state { total: int = 0; } @"})
case("lex", {"state": "    state { totál: int = 0; }"})
case("lex", None, raw=b"domain d; // caf\xe9\naggregate A { command C {} event E {} execute C { emit E {} } apply E {} }\n",
     showtext="domain d; // caf<0xE9 byte, Latin-1>")
case("lex", None, raw=b"domain d;\x00\naggregate A { command C {} event E {} execute C { emit E {} } apply E {} }\n",
     showtext="domain d;<NUL byte>")
case("lex", None, raw=b"domain d;\x01\naggregate A { command C {} event E {} execute C { emit E {} } apply E {} }\n",
     showtext="domain d;<byte 0x01>")
case("lex", None, raw=b"domain d; \xef\xbb\xbf\naggregate A { command C {} event E {} execute C { emit E {} } apply E {} }\n",
     showtext="domain d; <U+FEFF, a byte order mark not at the start>")
case("lex", {"state": "    state { " + "x" * 70 + ": int = 0; }"},
     showtext="state { xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx: int = 0; }  // 70 x")
# ---------------------------------------------------------------- syntax
case("syn", {"state": "    state { total int = 0; }"})
case("syn", {"executes": "    execute Add { require command.amount > 0 bad; emit Added { amount = command.amount; } }"})
case("syn", {"executes": "    execute Add { require 0 < command.amount < 10 else bad; emit Added { amount = command.amount; } }"})
case("syn", {"executes": "    execute Add { if command.amount = 1 { fail bad; } emit Added { amount = command.amount; } }"})
case("syn", {"applies": "    apply Added { total += event.amount * / 2; }"})
case("syn", {"domain": "domain d;\ndomain d;"})
case("syn", {"applies": "    apply Added { total += " + "(" * 300 + "1" + ")" * 300 + "; }"},
     showtext="apply Added { total += ((((...1...)))); }   // 300 parentheses")
case("syn", {"applies": "    apply Added { total += " + " + ".join(["1"] * 1100) + "; }"},
     showtext="apply Added { total += 1 + 1 + ... + 1; }   // 1100 operands")
# ---------------------------------------------------------------- declarations
case("decl", {"domain": ""}, showtext="// no `domain d;` line")
case("decl", {"domain": "domain Bank;"})
case("decl", {"domain": "domain int;"})
case("decl", {"domain": "domain bank_;"})
case("decl", {"domain": "domain d;", "top": "", "state": "", "commands": "", "events": "", "executes": "", "applies": ""},
     showtext="aggregate Counter {}")
case("decl", None, raw=b"domain d;\nenum Color { red }\n", showtext="domain d;\nenum Color { red }")
case("decl", {"commands": "    command Add { amount: int; }\n    command Add { amount: int; }"})
case("decl", {"top": "enum Added { a }"})
case("decl", {"proj": "    projection counters { total; }\n    projection counters { total; }"})
case("decl", {"top": "enum Color { red, green, red }"})
case("decl", {"top": "enum Color {}"})
case("decl", {"top": "enum Color { red, int }"})
case("decl", {"commands": "    command Domain {}\n    command Add { amount: int; }",
              "executes": "    execute Domain { fail no; }\n    execute Add { emit Added { amount = command.amount; } }"})
case("decl", {"proj": "    projection counters { total; has_total: bool = true; }"})
case("decl", {"commands": "    command OpenAccount {}\n    command Open_Account {}\n    command Add { amount: int; }",
              "executes": "    execute OpenAccount { fail no; }\n    execute Open_Account { fail no; }\n    execute Add { emit Added { amount = command.amount; } }"})
# ---------------------------------------------------------------- fields and types
case("field", {"state": "    state { total: integer = 0; }", "applies": "    apply Added {}"})
case("field", {"state": "    state { total: int = 0; tags: list; }"})
case("field", {"state": "    state { total: int = 0; register: bool = false; }"})
case("field", {"state": "    state { total: int = 0; limit: int = 0; state: string; }"})
case("field", {"state": "    state { total: int = 0; bad__name: int = 0; }"})
case("field", {"commands": "    command Add { amount: int; aggregate_id: string; }"})
case("field", {"state": "    state { total: int = 0; version: int = 0; }"})
case("field", {"state": "    state { total: int = 0; total: float; }"})
case("field", {"state": "    state { total: int = 0; note: string?; has_note: bool = false; }"})
case("field", {"state": "    state { total: int = 1 + 2; }"})
case("field", {"state": "    state { total: int = \"zero\"; }"})
case("field", {"state": "    state { total: int = null; }"})
case("field", {"state": "    state { total: int = 0; copy: int = total; }"})
case("field", {"state": "    state { total: int = 0; copy: int = state.total; }"})
case("field", {"state": "    state { total: int = 0; copy: int = command.amount; }"})
# ---------------------------------------------------------------- expressions
case("expr", {"commands": "    command Add { amount: int; check total > 0 else empty; }"})
case("expr", {"commands": "    command Add { amount: int; check state.total > 0 else empty; }"})
case("expr", {"commands": "    command Add { amount: int; check event.amount > 0 else empty; }"})
case("expr", {"executes": "    execute Add { require totl >= 0 else negative; emit Added { amount = command.amount; } }"})
case("expr", {"executes": "    execute Add { require amount > 0 else negative; emit Added { amount = command.amount; } }"})
case("expr", {"executes": "    execute Add { emit Added { amount = command.amout; } }"})
case("expr", {"executes": "    execute Add { require event.amount > 0 else negative; emit Added { amount = command.amount; } }"})
case("expr", {"applies": "    apply Added { total += event.amout; }"})
case("expr", {"applies": "    apply Added { total += command.amount; }"})
case("expr", {"applies": "    apply Added { total += state.totl; }"})
case("expr", {"top": "enum Color { red }", "applies": "    apply Added { total += Colour.red; }"})
case("expr", {"top": "enum Color { red }", "state": "    state { total: int = 0; color: Color = Color.blue; }"})
case("expr", {"applies": "    apply Added { total = \"x\" - 1; }"})
case("expr", {"applies": "    apply Added { total = -true; }"})
case("expr", {"executes": "    execute Add { require total != null else negative; emit Added { amount = command.amount; } }"})
case("expr", {"executes": "    execute Add { require total else negative; emit Added { amount = command.amount; } }"})
case("expr", {"executes": "    execute Add { if total { fail negative; } emit Added { amount = command.amount; } }"})
case("expr", {"commands": "    command Add { amount: int; check amount else zero; }"})
# ---------------------------------------------------------------- statements
case("stmt", {"executes": "    execute Add { emit Addded { amount = command.amount; } }"})
case("stmt", {"after": "aggregate Other {\n    command Poke {}\n    event Poked {}\n    execute Poke { emit Added { amount = 1; } }\n    apply Poked {}\n}"},
     showtext="aggregate Other {\n    command Poke {}\n    event Poked {}\n    execute Poke { emit Added { amount = 1; } }\n    apply Poked {}\n}")
case("stmt", {"executes": "    execute Add { emit Added { aggregate_id = \"x\"; amount = command.amount; } }"})
case("stmt", {"executes": "    execute Add { emit Added { amount = command.amount; count = 1; } }"})
case("stmt", {"executes": "    execute Add { emit Added { amount = 1; amount = 2; } }"})
case("stmt", {"executes": "    execute Add { emit Added { amount = \"many\"; } }"})
case("stmt", {"executes": "    execute Add { emit Added {} }"})
case("stmt", {"applies": "    apply Added { amount = 3; }"})
case("stmt", {"applies": "    apply Added { version = 7; }"})
case("stmt", {"state": "    state { total: int = 0; name: string; }", "applies": "    apply Added { name += \"x\"; }"})
case("stmt", {"applies": "    apply Added { total += 1.5; }"})
case("stmt", {"applies": "    apply Added { total = \"many\"; }"})
case("stmt", {"applies": "    apply Added { require total > 0 else negative; }"})
case("stmt", {"applies": "    apply Added { fail negative; }"})
case("stmt", {"applies": "    apply Added { emit Added { amount = 1; } }"})
case("stmt", {"executes": "    execute Add { total = 1; emit Added { amount = command.amount; } }"})
# ---------------------------------------------------------------- rules
case("rule", {"executes": "    execute Add { emit Added { amount = command.amount; } }\n    execute Subtract { fail nope; }"})
case("rule", {"after": "aggregate Other {\n    command Poke {}\n    event Poked {}\n    execute Poke { emit Poked {} }\n    execute Add extern;\n    apply Poked {}\n}"},
     showtext="aggregate Other {\n    ...\n    execute Add extern;   // Add is a command of Counter\n}")
case("rule", {"executes": "    execute Add { emit Added { amount = command.amount; } }\n    execute Add extern;"})
case("rule", {"applies": "    apply Added { total += event.amount; }\n    apply Subtracted {}"})
case("rule", {"after": "aggregate Other {\n    command Poke {}\n    event Poked {}\n    execute Poke { emit Poked {} }\n    apply Poked {}\n    apply Added {}\n}"},
     showtext="aggregate Other {\n    ...\n    apply Added {}   // Added is an event of Counter\n}")
case("rule", {"applies": "    apply Added { total += event.amount; }\n    apply Added {}"})
case("rule", {"commands": "    command Add { amount: int; }\n    command Reset {}"})
case("rule", {"events": "    event Added { amount: int; }\n    event Reset {}"})
# ---------------------------------------------------------------- projections
case("proj", {"proj": "    projection counters {}"})
case("proj", {"proj": "    projection order { total; }"})
case("proj", {"proj": "    projection counters { total; version; }"})
case("proj", {"proj": "    projection counters { total; total; }"})
case("proj", {"proj": "    projection counters { size; }"})
case("proj", {"proj": "    projection counters { big: bool = total; }"})
case("proj", {"proj": "    projection counters { nothing = null; }"})
case("proj", {"proj": "    projection counters { total; select = total * 2; }"})
# ---------------------------------------------------------------- codes
case("code", {"executes": "    execute Add { require command.amount > 0 else AccountNotFound; emit Added { amount = command.amount; } }"})
case("code", {"executes": "    execute Add { require command.amount > 0 else integer_overflow; emit Added { amount = command.amount; } }"})
case("code", {"executes": "    execute Add { require command.amount > 0 else double; emit Added { amount = command.amount; } }"})
case("code", {"executes": "    execute Add {\n        require total >= 0 else transfer_status_invalid;\n        require total < 100 else transfer_invalid_status;\n        emit Added { amount = command.amount; }\n    }"})

# ---------------------------------------------------------------- extra
case("syn", {"after": "aggregate Other {\n    command Poke {}"}, showtext="aggregate Other {\n    command Poke {}\n// end of file")
case("syn", {"executes": "    execute Add { " + "if true { " * 300 + "}" * 300 + " emit Added { amount = command.amount; } }"},
     showtext="execute Add { if true { if true { ... } } }   // 300 nested ifs")
case("syn", {"executes": "    execute Add { if true {} " + "else if true {} " * 300 + " emit Added { amount = command.amount; } }"},
     showtext="execute Add { if true {} else if true {} ... }   // 300 else-ifs")
case("expr", {"applies": "    apply Added { total += amount; }"})
case("stmt", {"applies": "    apply Added { total -= 1.5; }"})
case("expr", {"executes": "    execute Add { require total == null else negative; emit Added { amount = command.amount; } }"})
case("expr", {"top": "enum Status { open, closed }", "state": "    state { total: int = 0; status: Status = Status.open; }",
              "executes": "    execute Add { require status == open else closed; emit Added { amount = command.amount; } }"})
case("syn", {"executes": "    execute Add {\n        require total >= 0 else negative\n        emit Added { amount = command.amount; }\n    }"})
# ---------------------------------------------------------------- time
case("time", {"commands": "    command Add { amount: int; at: timestamp; }",
              "executes": "    execute Add { require command.at + 3600 > now() else late; emit Added { amount = command.amount; } }"})
case("time", {"commands": "    command Add { amount: int; at: timestamp; }",
              "executes": "    execute Add { require command.at + command.amount > now() else late; emit Added { amount = command.amount; } }"})
case("time", {"executes": "    execute Add { require 1h + command.amount > 0s else late; emit Added { amount = command.amount; } }"})
case("time", {"state": "    state { total: int = 0; at: timestamp?; }", "applies": "    apply Added { at = now(); }"})
case("time", {"commands": "    command Add { amount: int; at: timestamp; check now() > at else late; }"})
case("time", {"proj": "    projection counters { seen = now(); }"})
case("time", {"executes": "    execute Add { require today() > updated_at else late; emit Added { amount = command.amount; } }"})
case("time", {"state": "    state { total: int = 0; grace: duration; }"})
case("time", {"events": "    event Added { amount: int; event_date: timestamp; }"})
case("time", {"proj": "    projection counters { age = updated_at - updated_at; }"})
case("time", {"executes": "    execute Add { require now() < now() + 106751992d else late; emit Added { amount = command.amount; } }"})
case("time", {"applies": "    apply Added { total = event.event_date; }"})
# ---------------------------------------------------------------- warnings
case("warn", {"events": "    event Added { amount: int; }\n    event Reset {}", "applies": "    apply Added { total += event.amount; }\n    apply Reset { total = 0; }"})
case("warn", {"commands": "    command Add { amount: int; }\n    command Check {}",
              "executes": "    execute Add { emit Added { amount = command.amount; } }\n    execute Check { require total >= 0 else negative; }"})
case("warn", {"commands": "    command Add { amount: int; }\n    command Take { amount: int; }",
              "executes": "    execute Add { require total >= 0 else account_not_found; require command.amount > 0 else account_not_found; emit Added { amount = command.amount; } }\n    execute Take { require total >= 0 else acount_not_found; emit Added { amount = command.amount; } }"})

# ---------------------------------------------------------------- reactions
R = "react Added as count_again {\n    dispatch Add { %s }\n}"
case("react", {"after": "react Removed as on_removed {\n    dispatch Add { aggregate_id = aggregate_id; amount = 1; }\n}"})
case("react", {"after": "react Added as again {\n    dispatch Ad { aggregate_id = aggregate_id; }\n}"})
case("react", {"after": R % "aggregate_id = aggregate_id; amount = event.amount; cents = 1;"})
case("react", {"after": R % "aggregate_id = aggregate_id; amount = \"one\";"})
case("react", {"after": R % "amount = event.amount;"})
case("react", {"after": R % "aggregate_id = aggregate_id;"})
case("react", {"after": R % "aggregate_id = aggregate_id; amount = command.amount;"})
case("react", {"after": "react Added as count {\n    dispatch Add { aggregate_id = \"other\"; amount = 1; }\n}"})
case("react", {"commands": "    command Add { amount: int; }\n    command Log {}",
               "events": "    event Added { amount: int; }\n    event Logged {}",
               "executes": "    execute Add { emit Added { amount = command.amount; } }\n    execute Log { emit Logged {} }",
               "applies": "    apply Added { total += event.amount; }\n    apply Logged {}",
               "after": "react Added as log_added {\n    dispatch Log { aggregate_id = aggregate_id; }\n}\n"
                        "react Logged as log_again {\n    dispatch Log { aggregate_id = aggregate_id; }\n}"})
case("react", {"commands": "    command Add { amount: int; }\n    command Log {}",
               "events": "    event Added { amount: int; }\n    event Logged {}",
               "executes": "    execute Add { emit Added { amount = command.amount; } }\n    execute Log { emit Logged {} }",
               "applies": "    apply Added { total += event.amount; }\n    apply Logged {}",
               "after": "react Added as log_added {\n    dispatch Log { aggregate_id = aggregate_id; }\n}\n"
                        "react Logged as log_added {\n    dispatch Log { aggregate_id = \"log\"; }\n}"})


# ------------------------------------------------------- schema evolution
E = "    event Added {\n        amount: int;\n        %s\n    }"
case("evo", {"events": "    event Added wes Old { amount: int; }"})
case("evo", {"events": E % "upcats 1 { a: int; } { amount = old.a; }"})
case("evo", {"events": E % "upcast 2 { a: int; } { amount = old.a; }"})
case("evo", {"events": E % "upcast 1 { a: int; } { amount = old.b; }"})
case("evo", {"events": E % "upcast 1 { a: int; } { amount = a; }"})
case("evo", {"events": E % "upcast 1 { a: int; } { amount = state.total; }"})
case("evo", {"events": E % "upcast 1 { a: string; } { amount = old.a; }"})
case("evo", {"events": E % "upcast 1 { a: int; } { amount = old.a; amount = 0; }"})
case("evo", {"events": E % "upcast 1 { a: int; } { amount += old.a; }"})
case("evo", {"events": E % "upcast 1 { a: int; } { amount = old.a; total = 0; }"})
case("evo", {"events": E % "upcast 1 { a: int; } { require old.a > 0 else bad; amount = old.a; }"})
case("evo", {"events": E % "upcast 1 { amount: int; flag: bool; } { if old.flag { amount = old.amount; } }"})
case("evo", {"events": "    event Added was Added { amount: int; }"})
case("evo", {"events": "    event Added was Old, Old { amount: int; }"})
# ---------------------------------------------------------------- records and lists
L = "record Line { sku: string; qty: int; }"
case("field", {"top": "record A { b: B; }\nrecord B { a: A?; }"})
case("field", {"top": "record Empty { }"})
case("field", {"state": "    state { total: int = 0; xs: list<Lines>; }"})
case("field", {"state": "    state { total: int = 0; xs: dict<int>; }"})
case("field", {"state": "    state { total: int = 0; xs: list<list<int>>; }"})
case("expr", {"top": L, "state": "    state { total: int = 0; lines: list<Line>; }",
              "executes": "    execute Add { require size(lines) > 0 else bad; emit Added { amount = command.amount; } }"})
case("expr", {"top": L, "state": "    state { total: int = 0; lines: list<Line>; }",
              "executes": "    execute Add { require sum(l.sku for l in lines) > 0 else bad; emit Added { amount = command.amount; } }"})
case("expr", {"top": L, "state": "    state { total: int = 0; lines: list<Line>; }",
              "executes": "    execute Add { require count(lines) > 0 else bad; emit Added { amount = command.amount; } }"})
case("expr", {"top": L, "state": "    state { total: int = 0; lines: list<Line>; }",
              "executes": "    execute Add { require any(l.weight > 0 for l in lines) else bad; emit Added { amount = command.amount; } }"})
case("expr", {"top": L, "state": "    state { total: int = 0; lines: list<Line>; }",
              "executes": "    execute Add { require any(l.qty > 0 for total in lines) else bad; emit Added { amount = command.amount; } }"})
case("expr", {"top": L, "state": "    state { total: int = 0; lines: list<Line>; }",
              "executes": "    execute Add { require lines.qty > 0 else bad; emit Added { amount = command.amount; } }"})
case("expr", {"top": L, "state": "    state { total: int = 0; lines: list<Line>; old: list<Line>; }",
              "executes": "    execute Add { require lines == old else bad; emit Added { amount = command.amount; } }"})
case("expr", {"top": L, "state": "    state { total: int = 0; lines: list<Line>; }",
              "executes": "    execute Add { require \"a\" in lines else bad; emit Added { amount = command.amount; } }"})
case("stmt", {"top": L, "state": "    state { total: int = 0; lines: list<Line>; }",
              "applies": "    apply Added { lines -= event.amount; }"})
case("stmt", {"top": L, "state": "    state { total: int = 0; tags: list<string>; }",
              "applies": "    apply Added { tags += event.amount; }"})
case("stmt", {"top": L, "state": "    state { total: int = 0; tags: list<string>; }",
              "applies": "    apply Added { tags -= t if t; }"})
case("stmt", {"top": L, "state": "    state { total: int = 0; line: Line; }",
              "applies": "    apply Added { line += event.amount; }"})


def run_all(aggc, d):
    out = []
    for i, (group, o, raw, showtext) in enumerate(CASES):
        name = "c%03d.agg" % i
        data = raw if raw is not None else build(o).encode()
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
        p = subprocess.run([aggc, "--check", name], cwd=d,
                           env={"NO_COLOR": "1", "PATH": "/usr/bin:/bin"},
                           capture_output=True)
        out.append({"group": group,
                    "show": showtext if showtext is not None else show(o),
                    "stderr": p.stderr.decode("utf-8", "replace"),
                    "rc": p.returncode})
    return out


GROUPS = [
 ("lex", "Lexical errors"),
 ("syn", "Syntax errors"),
 ("decl", "Domain and declarations"),
 ("field", "Fields, types and defaults"),
 ("expr", "Expressions"),
 ("stmt", "Statements"),
 ("rule", "Execute and apply blocks"),
 ("proj", "Projections"),
 ("code", "Rejection codes"),
 ("evo", "Schema evolution"),
 ("react", "Reactions"),
 ("time", "Time"),
 ("warn", "Warnings"),
]
NOTES = {  # first error message (prefix) -> remark shown under the example
    "unexpected character '&' (did you mean '&&'?)":
        'Parsing goes on as if `&&` (or `||`) had been written.',
    "unexpected character U+00E1":
        'Only ASCII is allowed in identifiers; the word is still read as one identifier, so nothing else is reported.',
    "unexpected identifier 'int'":
        'Syntax errors name the unexpected token and, when the list is short, the tokens that were expected. After an error the parser skips to the next `;` or `}` and goes on.',
    "unexpected identifier 'bad'":
        'In the list, `operator` stands for any binary operator and `expression` for anything that can start an expression; a list of more than 8 entries is left out.',
    'expression nested too deeply (the limit is 256)':
        'Same message for `!` and unary `-`.',
    "domain name 'int' is a C keyword":
        'The C keyword and `_` rules apply to fields, enum members, projections, columns and the domain; the message starts with `field`, `enum member`, `projection`, `column` or `domain name`. SQL reserved words are refused only where a name becomes SQL: projections and their columns (§7 lists the words).',
    "command 'Add' is already declared as a command":
        'Enums, aggregates, commands and events share one namespace; the message names both kinds (`a command`, `an aggregate`, `an enum`, `an event`). A duplicate also misses its execute/apply, reported separately.',
    "'Open_Account' and 'OpenAccount' both generate the C name 'd_counter_execute_open_account'; rename one":
        'Reported for any generated C name two declarations share; the name quoted is one of the shared ones.',
    "field 'aggregate_id' is implicit in every command and cannot be declared":
        '`aggregate_id` in commands and events; `aggregate_id`, `version`, `updated_at` in states.',
    "'command' can only be used in execute blocks and checks":
        "`'command' ...` and `'event' ...` are reported wherever they are not available (defaults, projections, the wrong kind of block).",
    "unknown state field 'amount' in aggregate Counter":
        'In an apply the note suggests `event.f`. An unknown name close to a declared one (one edit per three letters, at most three) gets a `did you mean` note; so do unknown events, commands, enum members, enums and types.',
    "'state' is a keyword; rename the field":
        'The field is left out and parsing goes on; the checker then still runs over the rest (here it finds `limit` fine: command, event and state fields never become SQL).',
    "missing ';' at the end of the line":
        'A missing `;` is one error: the statement (field, check, initialiser) ends there and the next one parses as usual. When what follows starts a new line, the error points at the end of the line where the `;` belongs; on the same line it is `unexpected ..., expected \';\'`.',
    "operator '+' cannot be applied to timestamp and int":
        'Durations have units; plain ints do not (§9.4).',
    "event Reset is never emitted":
        'Not reported when the aggregate has an `extern` execute, which may emit any of its events, nor for an event with a history (`was` names or `upcast` blocks), which may be kept only to read what older versions stored. Warnings do not change the exit status (0) unless `--Werror` makes them errors.',
    "execute Add never emits an event":
        'An empty block (`execute C {}`) says on purpose that C changes nothing, and a block that always fails is a refusal: neither is reported.',
    "operator '-' cannot be applied to string and int":
        'Listed per operator in §9.3.',
    'comparison with null is always true: the other side has type int, which is never null':
        '`always true` for `!=`, `always false` for `==`.',
    "unexpected identifier 'wes', expected 'was' or '{'":
        '`was` and `upcast` are words only there (elsewhere they are ordinary names).',
    "upcast 1 of Added leaves required field 'amount' of version 2 unset":
        'A field counts as set when every path of `if`/`else` sets it; the second note appears when the stored version has a field of the same name.',
    "cannot add float to 'total' of type int":
        '`cannot subtract float from ...` for `-=`.',
}

def render(res):
    out = ["## 13. Checker errors", "",
    "Every diagnostic of `aggc`, with a minimal input that triggers it. Each",
    "example is a change to this valid domain:", "",
    "```agg",
    "domain d;",
    "aggregate Counter {",
    "    state { total: int = 0; }",
    "    command Add { amount: int; }",
    "    event Added { amount: int; }",
    "    execute Add { emit Added { amount = command.amount; } }",
    "    apply Added { total += event.amount; }",
    "}",
    "```", "",
    "Diagnostics are printed as `FILE:LINE:COL: error: MESSAGE`, then the source",
    "line and a caret; `note:` lines point at related places. Below, only the",
    "message and its notes are shown. The checker runs only when every file",
    "parsed cleanly (a keyword used as a field or column name excepted), so",
    "syntax errors come alone. Warnings (`FILE:LINE:COL: warning: MESSAGE`)",
    "come only from a program without errors.", ""]
    seen = set()
    for g, title in GROUPS:
        out.append("### " + title)
        out.append("")
        for i, r in enumerate(res):
            if r["group"] != g:
                continue
            if r["rc"] == 0 and g != "warn":
                print("checker_errors.py: case %d is accepted by aggc:\n%s"
                      % (i, r["show"]), file=sys.stderr)
                continue
            lines = r["stderr"].splitlines()
            msgs = []
            started = False
            for l in lines:
                m = re.match(r'^c\d+\.agg:\d+:\d+: (error|warning|note): (.*)$', l)
                if m:
                    if m.group(1) != "note":
                        if started: break
                        started = True
                    msgs.append(m.group(1) + ": " + m.group(2))
            key = msgs[0]
            if key in seen: continue
            seen.add(key)
            out.append("```agg")
            out.append(r["show"])
            out.append("```")
            out.append("```")
            out.extend(msgs)
            out.append("```")
            for prefix, remark in NOTES.items():
                if key.split(": ", 1)[1].startswith(prefix):
                    out.append(remark)
                    break
            out.append("")
    out.append("### Command line and files")
    out.append("")
    out.append("""Without a location:

```
aggc: cannot read 'no_such_file.agg': No such file or directory
aggc: cannot create output directory 'gen': Permission denied
aggc: cannot write 'gen/bank.h': Permission denied
aggc: too many errors (stopping after 50)
aggc: 3 errors
```

With a location (line 1): `file is too large (N bytes)` (over 2 GiB).

Usage errors (exit status 2), each followed by the usage line:

```
aggc: unknown option '--frobnicate'
aggc: option -o needs an argument
aggc: unknown output 'pdf' in --emit (expected c, sql, dot, stubs)
aggc: --emit needs at least one output
aggc: no input files
```

The errors of `--against` (an old version of the domain that the new one
must read) are listed in [evolution.md](evolution.md#checking-a-new-version-aggc---against).
""")
    return "\n".join(out) + "\n"


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: checker_errors.py AGGC")
    aggc = os.path.abspath(sys.argv[1])
    doc = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "language.md")
    with tempfile.TemporaryDirectory() as d:
        section = render(run_all(aggc, d))
    with open(doc, encoding="utf-8") as f:
        text = f.read()
    begin = text.index("-->", text.index("<!-- BEGIN checker-errors")) + 3
    end = text.index("<!-- END checker-errors -->")
    with open(doc, "w", encoding="utf-8") as f:
        f.write(text[:begin] + "\n" + section + text[end:])


if __name__ == "__main__":
    main()
