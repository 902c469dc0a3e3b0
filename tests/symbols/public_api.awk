# public_api.awk - the public declarations of C headers, one per line:
# "F name" (a function declared, not defined, at file scope), "V name" (an
# extern variable) and "T name" (a typedef name).  static inline functions,
# macros and struct members are not declarations of the library.
#
# Comments, string literals and preprocessor lines are dropped; then the
# text at brace depth 0 (an `extern "C" {` block does not count) is cut into
# statements at ';', and a brace block that closes a statement without
# ';' (a function definition) ends it.

function flush(stmt,   s, name, m) {
    s = stmt
    gsub(/[ \t\n]+/, " ", s)
    sub(/^ /, "", s)
    if (s == "") return
    if (s ~ /^typedef /) {
        # typedef int (*name)(...);  or  typedef ... name;
        if (match(s, /\(\*[ ]*[A-Za-z_][A-Za-z0-9_]*[ ]*\)/)) {
            m = substr(s, RSTART + 2, RLENGTH - 3)
            gsub(/ /, "", m)
            print "T " m
        } else if (match(s, /[A-Za-z_][A-Za-z0-9_]*[ ]*(\[[^]]*\][ ]*)*$/)) {
            m = substr(s, RSTART, RLENGTH)
            sub(/[ \[].*$/, "", m)
            print "T " m
        }
        return
    }
    if (s ~ /^(static|struct [A-Za-z0-9_]+ *\{|enum|union)/) return
    # the first identifier followed by '(' that is not an attribute
    while (match(s, /[A-Za-z_][A-Za-z0-9_]*[ ]*\(/)) {
        name = substr(s, RSTART, RLENGTH)
        sub(/[ ]*\($/, "", name)
        if (name != "__attribute__" && name != "__declspec") {
            print "F " name
            return
        }
        s = substr(s, RSTART + RLENGTH)
    }
    if (s ~ /^(extern |INC_API )/) {
        sub(/[ ]*(\[[^]]*\][ ]*)*$/, "", s)
        if (match(s, /[A-Za-z_][A-Za-z0-9_]*$/)) print "V " substr(s, RSTART, RLENGTH)
    }
}

BEGIN { depth = 0; stmt = ""; incomment = 0; cont = 0 }
{
    line = $0
    # a preprocessor line and its continuations
    if (cont || line ~ /^[ \t]*#/) { cont = (line ~ /\\$/); next }
    out = ""
    i = 1
    n = length(line)
    while (i <= n) {
        c = substr(line, i, 1)
        two = substr(line, i, 2)
        if (incomment) {
            if (two == "*/") { incomment = 0; i += 2 } else i++
            continue
        }
        if (two == "/*") { incomment = 1; i += 2; continue }
        if (two == "//") break
        if (c == "\"" || c == "'") { # skip a literal
            q = c; i++
            while (i <= n && substr(line, i, 1) != q) {
                if (substr(line, i, 1) == "\\") i++
                i++
            }
            i++
            out = out " "
            continue
        }
        out = out c
        i++
    }
    # extern "C" { ... } does not open a scope of its own
    if (line ~ /^extern[ \t]+"C"[ \t]*\{/) next
    if (line ~ /^\}[ \t]*$/ && depth == 0) next
    n = length(out)
    for (i = 1; i <= n; i++) {
        c = substr(out, i, 1)
        if (c == "{") {
            depth++
            if (depth == 1) stmt = stmt " {"
        } else if (c == "}") {
            depth--
            if (depth == 0) {
                stmt = stmt "}"
                body_closed = 1
            }
        } else if (depth == 0) {
            if (c == ";") { flush(stmt); stmt = ""; body_closed = 0 }
            else if (body_closed && c !~ /[ \t]/ && stmt !~ /^[ \t\n]*(typedef|struct|enum|union)/) {
                # a function definition ended at its '}'
                stmt = c; body_closed = 0
            } else stmt = stmt c
        }
    }
    if (depth == 0) {
        if (body_closed && stmt !~ /^[ \t\n]*(typedef|struct|enum|union)/) { stmt = ""; body_closed = 0 }
        stmt = stmt "\n"
    }
}
END { flush(stmt) }
