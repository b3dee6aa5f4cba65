/*  check_fw_tmpl.c — unit tests for the Go text/template engine (common/fw_tmpl*).

    The table cases are taken from Go's src/text/template/exec_test.go (execTests) and
    parse_test.go (parseTests), with the Go test data (tVal) expressed as JSON: X "x",
    U.V "v", I 17, SI [3,4,5], SIEmpty [], MSI {one:1,two:2,three:3}, MSIone {one:1},
    MSIEmpty {}, S "xyz", FloatZero 0.0, True true. Where a JSON value cannot be the Go
    type (index of a missing key of map[string]int gives 0 in Go; of a JSON object nil),
    the expected text is the JSON one and the case says so. Alertmanager's default.tmpl is
    rendered from the Debian prometheus-alertmanager 0.25 file; the expected strings are
    what its Go templates give for the sample payload (worked out from the Go semantics).
*/
#include <check.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/fw_tmpl.h"

Suite *fw_tmpl_suite(void);

#define s_assert_has(s, sub)                                                                       \
    ck_assert_msg((s) && strstr((s), (sub)) != NULL, "\"%s\" lacks \"%s\"", (s), (sub))

static const char *const s_tval =
    "{\"X\":\"x\",\"U\":{\"V\":\"v\"},\"I\":17,\"SI\":[3,4,5],\"SIEmpty\":[],"
    "\"MSI\":{\"one\":1,\"two\":2,\"three\":3},\"MSIone\":{\"one\":1},\"MSIEmpty\":{},"
    "\"S\":\"xyz\",\"FloatZero\":0.0,\"True\":true,\"F\":1.5,\"Null\":null,"
    "\"SB\":[true,false],\"Str\":\"It'd be nice.\"}";

struct s_case {
    const char *name, *text, *want; // want NULL: execution (or parse) fails
};

// exec_test.go execTests, as far as they apply to JSON data.
static const struct s_case s_exec_cases[] = {
    {"empty", "", ""},
    {"text", "some text", "some text"},
    {".X", "-{{.X}}-", "-x-"},
    {".U.V", "-{{.U.V}}-", "-v-"},
    {"map .one", "{{.MSI.one}}", "1"},
    {"map .two", "{{.MSI.two}}", "2"},
    {"map .NO", "{{.MSI.NO}}", "<no value>"},
    {"map .one interface", "{{.MSIone.one}}", "1"},
    {"dot map", "<{{.MSIone}}>", "<map[one:1]>"},
    {"dot slice", "<{{.SI}}>", "<[3 4 5]>"},
    {"dot float", "<{{.F}}>", "<1.5>"},
    {"dot bool", "<{{.True}}>", "<true>"},
    {"null", "<{{.Null}}>", "<<nil>>"},
    {"$ int", "{{$.I}}", "17"},
    {"$.U.V", "{{$.U.V}}", "v"},
    {"declare in action", "{{$x := $.U.V}}{{$x}}", "v"},
    {"simple assignment", "{{$x := 2}}{{$x = 3}}{{$x}}", "3"},
    {"nested assignment", "{{$x := 2}}{{if true}}{{$x = 3}}{{end}}{{$x}}", "3"},
    {"nested assignment changes the last declaration",
     "{{$x := 1}}{{if true}}{{$x := 2}}{{if true}}{{$x = 3}}{{end}}{{end}}{{$x}}", "1"},
    {"if true", "{{if true}}TRUE{{end}}", "TRUE"},
    {"if false", "{{if false}}TRUE{{else}}FALSE{{end}}", "FALSE"},
    {"if nil", "{{if nil}}TRUE{{end}}", NULL},
    {"if 1", "{{if 1}}NON-ZERO{{else}}ZERO{{end}}", "NON-ZERO"},
    {"if 0", "{{if 0}}NON-ZERO{{else}}ZERO{{end}}", "ZERO"},
    {"if 1.5", "{{if 1.5}}NON-ZERO{{else}}ZERO{{end}}", "NON-ZERO"},
    {"if 0.0", "{{if .FloatZero}}NON-ZERO{{else}}ZERO{{end}}", "ZERO"},
    {"if emptystring", "{{if ``}}NON-EMPTY{{else}}EMPTY{{end}}", "EMPTY"},
    {"if string", "{{if `notempty`}}NON-EMPTY{{else}}EMPTY{{end}}", "NON-EMPTY"},
    {"if emptyslice", "{{if .SIEmpty}}NON-EMPTY{{else}}EMPTY{{end}}", "EMPTY"},
    {"if slice", "{{if .SI}}NON-EMPTY{{else}}EMPTY{{end}}", "NON-EMPTY"},
    {"if emptymap", "{{if .MSIEmpty}}NON-EMPTY{{else}}EMPTY{{end}}", "EMPTY"},
    {"if map", "{{if .MSI}}NON-EMPTY{{else}}EMPTY{{end}}", "NON-EMPTY"},
    {"if $x with $y int", "{{if $x := true}}{{with $y := .I}}{{$x}},{{$y}}{{end}}{{end}}",
     "true,17"},
    {"if else if", "{{if false}}FALSE{{else if true}}TRUE{{end}}", "TRUE"},
    {"if else chain", "{{if eq 1 3}}1{{else if eq 2 3}}2{{else if eq 3 3}}3{{end}}", "3"},
    {"print", "{{print \"hello, print\"}}", "hello, print"},
    {"print 123", "{{print 1 2 3}}", "1 2 3"},
    {"print nil", "{{print nil}}", "<nil>"},
    {"println", "{{println 1 2 3}}", "1 2 3\n"},
    {"printf int", "{{printf \"%04x\" 127}}", "007f"},
    {"printf float", "{{printf \"%g\" 3.5}}", "3.5"},
    {"printf string", "{{printf \"%s\" \"hello\"}}", "hello"},
    {"printf dot", "{{with .I}}{{printf \"%d\" .}}{{end}}", "17"},
    {"printf var", "{{with $x := .I}}{{printf \"%d\" $x}}{{end}}", "17"},
    {"printf lots", "{{printf \"%d %s %g %s\" 127 \"hello\" 7.5 .X}}", "127 hello 7.5 x"},
    {"printf bad verb", "{{printf \"%d\" \"s\"}}", "%!d(string=s)"},
    {"printf missing", "{{printf \"%d %d\" 1}}", "1 %!d(MISSING)"},
    {"printf extra", "{{printf \"%d\" 1 2}}", "1%!(EXTRA int=2)"},
    {"html", "{{html \"<script>alert(\\\"XSS\\\");</script>\"}}",
     "&lt;script&gt;alert(&#34;XSS&#34;);&lt;/script&gt;"},
    {"html pipeline", "{{printf \"<script>alert(\\\"XSS\\\");</script>\" | html}}",
     "&lt;script&gt;alert(&#34;XSS&#34;);&lt;/script&gt;"},
    {"js", "{{js .Str}}", "It\\'d be nice."},
    {"urlquery", "{{\"http://www.example.org/\"|urlquery}}", "http%3A%2F%2Fwww.example.org%2F"},
    {"not", "{{not true}} {{not false}}", "false true"},
    {"and", "{{and false 0}} {{and 1 0}} {{and 0 true}} {{and 1 1}}", "false 0 0 1"},
    {"or", "{{or 0 0}} {{or 1 0}} {{or 0 true}} {{or 1 1}}", "0 1 true 1"},
    {"or short-circuit", "{{or 1 (index .SI 99)}}", "1"},
    {"and short-circuit", "{{and 0 (index .SI 99)}}", "0"},
    {"slice[0]", "{{index .SI 0}}", "3"},
    {"slice[1]", "{{index .SI 1}}", "4"},
    {"slice[HUGE]", "{{index .SI 10}}", NULL},
    {"slice[WRONG]", "{{index .SI `hello`}}", NULL},
    {"map[one]", "{{index .MSI `one`}}", "1"},
    {"map[NO] (JSON: nil, Go's map[string]int: 0)", "{{index .MSI `XXX`}}", "<nil>"},
    {"nil[1]", "{{index nil 1}}", NULL},
    {"slice[:]", "{{slice .SI}}", "[3 4 5]"},
    {"slice[1:]", "{{slice .SI 1}}", "[4 5]"},
    {"slice[1:2]", "{{slice .SI 1 2}}", "[4]"},
    {"slice[-1:]", "{{slice .SI -1}}", NULL},
    {"slice[1:4]", "{{slice .SI 1 4}}", NULL},
    {"string[:]", "{{slice .S}}", "xyz"},
    {"string[0:1]", "{{slice .S 0 1}}", "x"},
    {"string[1:]", "{{slice .S 1}}", "yz"},
    {"len slice", "{{len .SI}}", "3"},
    {"len map", "{{len .MSI }}", "3"},
    {"len of int", "{{len 3}}", NULL},
    {"len of nothing", "{{len .Empty0}}", NULL},
    {"range []int", "{{range .SI}}-{{.}}-{{end}}", "-3--4--5-"},
    {"range empty no else", "{{range .SIEmpty}}-{{.}}-{{end}}", ""},
    {"range []int else", "{{range .SI}}-{{.}}-{{else}}EMPTY{{end}}", "-3--4--5-"},
    {"range empty else", "{{range .SIEmpty}}-{{.}}-{{else}}EMPTY{{end}}", "EMPTY"},
    {"range []bool", "{{range .SB}}-{{.}}-{{end}}", "-true--false-"},
    {"range map", "{{range .MSI}}-{{.}}-{{end}}", "-1--3--2-"},
    {"range empty map no else", "{{range .MSIEmpty}}-{{.}}-{{end}}", ""},
    {"range map else", "{{range .MSI}}-{{.}}-{{else}}EMPTY{{end}}", "-1--3--2-"},
    {"range empty map else", "{{range .MSIEmpty}}-{{.}}-{{else}}EMPTY{{end}}", "EMPTY"},
    {"range empty interface", "{{range .Empty3}}-{{.}}-{{else}}EMPTY{{end}}", "EMPTY"},
    {"range $x SI", "{{range $x := .SI}}<{{$x}}>{{end}}", "<3><4><5>"},
    {"range $x $y SI", "{{range $x, $y := .SI}}<{{$x}}={{$y}}>{{end}}", "<0=3><1=4><2=5>"},
    {"range $x MSIone", "{{range $x := .MSIone}}<{{$x}}>{{end}}", "<1>"},
    {"range $x $y MSIone", "{{range $x, $y := .MSIone}}<{{$x}}={{$y}}>{{end}}", "<one=1>"},
    {"range quick break", "{{range .SI}}{{break}}{{.}}{{end}}", ""},
    {"range break after two", "{{range $i, $x := .SI}}{{if ge $i 2}}{{break}}{{end}}{{.}}{{end}}",
     "34"},
    {"range continue", "{{range .SI}}{{continue}}{{.}}{{end}}", ""},
    {"range continue condition", "{{range .SI}}{{if eq . 3 }}{{continue}}{{end}}{{.}}{{end}}",
     "45"},
    {"range int", "{{range $i := 3}}{{$i}}{{end}}", NULL}, // Go 1.22; 1.19 (our peers') fails
    {"range string", "{{range .S}}x{{end}}", NULL},
    {"with true", "{{with true}}{{.}}{{end}}", "true"},
    {"with false", "{{with false}}{{.}}{{else}}FALSE{{end}}", "FALSE"},
    {"with 1", "{{with 1}}{{.}}{{else}}ZERO{{end}}", "1"},
    {"with 0", "{{with 0}}{{.}}{{else}}ZERO{{end}}", "ZERO"},
    {"with emptyslice", "{{with .SIEmpty}}{{.}}{{else}}EMPTY{{end}}", "EMPTY"},
    {"with slice", "{{with .SI}}{{.}}{{else}}EMPTY{{end}}", "[3 4 5]"},
    {"with $x int", "{{with $x := .I}}{{$x}}{{end}}", "17"},
    {"with variable and action", "{{with $x := $}}{{$y := $.U.V}}{{$y}}{{end}}", "v"},
    {"with else with", "{{with 0}}{{.}}{{else with true}}{{.}}{{end}}", "true"},
    {"with else with chain",
     "{{with 0}}{{.}}{{else with false}}{{.}}{{else with `notempty`}}{{.}}{{end}}", "notempty"},
    {"template", "{{define \"x\"}}X{{.}}{{end}}{{template \"x\" 3}}", "X3"},
    {"template no data", "{{define \"x\"}}[{{.}}]{{end}}{{template \"x\"}}", "[<no value>]"},
    {"template $ is its data", "{{define \"x\"}}{{$}}{{end}}{{template \"x\" .I}}", "17"},
    {"block", "a({{block \"inner\" .}}bar({{.X}})baz{{end}})b", "a(bar(x)baz)b"},
    {"undefined template", "{{template \"nope\"}}", NULL},
    {"comment", "{{/* a comment */}}", ""},
    {"comment trim left", "x \r\n\t{{- /* hi */}}", "x"},
    {"comment trim right", "{{/* hi */ -}}\n\n\ty", "y"},
    {"trim", "{{23 -}} < {{- 45}}", "23<45"},
    {"trim left", "a {{- 1}}", "a1"},
    {"negative number is not trim", "{{-3}}", "-3"},
    {"eq 1 1", "{{eq 1 1}}", "true"},
    {"eq 1 2", "{{eq 1 2}}", "false"},
    {"eq `xy` `xy`", "{{eq `xy` `xy`}}", "true"},
    {"eq 1.5 1.5", "{{eq 1.5 1.5}}", "true"},
    {"eq multi", "{{eq 3 4 5 6 3}}", "true"},
    {"eq multi false", "{{eq 3 4 5 6 7}}", "false"},
    {"ne 1 2", "{{ne 1 2}}", "true"},
    {"lt 1 2", "{{lt 1 2}}", "true"},
    {"lt 1.5 1.5", "{{lt 1.5 1.5}}", "false"},
    {"le 1.5 1.5", "{{le 1.5 1.5}}", "true"},
    {"gt `xy` `xz`", "{{gt `xy` `xz`}}", "false"},
    {"ge 2 1", "{{ge 2 1}}", "true"},
    {"eq .I 17", "{{eq .I 17}}", "true"},
    {"eq 1 1.0 (incompatible)", "{{eq 1 1.0}}", NULL},
    {"lt true false (invalid)", "{{lt true false}}", NULL},
    {"eq .SI .SI (invalid)", "{{eq .SI .SI}}", NULL},
    {"parenthesized", "{{(printf \"%d\" 1)}}", "1"},
    {"parens in args", "{{printf \"%s-%s\" (printf \"%d\" 1) (print .X)}}", "1-x"},
    {"parens field", "{{(index .U \"V\")}}", "v"},
    {"chain on parens", "{{(.U).V}}", "v"},
    {"pipeline", "{{.X | printf \"%s!\"}}", "x!"},
    {"pipeline chain", "{{1 | printf \"%d\" | printf \"%s%s\" \"a\"}}", "a1"},
    {"variable chain", "{{$u := .U}}{{$u.V}}", "v"},
    {"char constant", "{{'a'}}", "97"},
    {"hex", "{{0x1F}}", "31"},
    {"float exp", "{{1e6}}", "1e+06"},
    {"raw string", "{{`a\\nb`}}", "a\\nb"},
    {"escaped string", "{{\"a\\tb\\u00e9\"}}", "a\tb\xc3\xa9"},
    {"field of string", "{{.X.Y}}", NULL},
    {"field of nil", "{{.Null.Y}}", NULL},
    {"field with args", "{{.X 1}}", NULL},
    {"nil command", "{{nil}}", NULL},
    // no data (a template called without one) has no fields, and that is no error in Go
    {"fields of no data", "{{define \"a\"}}{{.X}}|{{$.Y.Z}}{{end}}{{template \"a\"}}",
     "<no value>|<no value>"},
    {"eq nil", "{{eq .Null nil}} {{eq nil 1}} {{eq .Null .U}}", "true false false"},
};

static json_t *
s_data(void)
{
    json_error_t je;
    json_t *d = json_loads(s_tval, 0, &je);
    ck_assert_ptr_nonnull(d);
    return d;
}

static char *
s_run(const char *text, json_t *data, fw_err_t *err)
{
    fw_tmpl_set_t *set = fw_tmpl_set_new();
    char *out = NULL;
    if (fw_tmpl_parse(set, "t", text, err) == 0)
        fw_tmpl_exec(set, "t", data, &out, err);
    fw_tmpl_set_destroy(&set);
    return out;
}

START_TEST(test_fw_tmpl_exec_table)
{
    json_t *data = s_data();
    for (size_t i = 0; i < sizeof(s_exec_cases) / sizeof(s_exec_cases[0]); i++) {
        const struct s_case *c = &s_exec_cases[i];
        fw_err_t err = {0};
        char *out = s_run(c->text, data, &err);
        if (c->want) {
            ck_assert_msg(out != NULL, "%s: failed: %s", c->name, err.msg);
            ck_assert_msg(strcmp(out, c->want) == 0, "%s: got \"%s\" want \"%s\"", c->name, out,
                          c->want);
        } else {
            ck_assert_msg(out == NULL, "%s: want an error, got \"%s\"", c->name, out);
            ck_assert_msg(strncmp(err.msg, "template: t:", 12) == 0, "%s: error \"%s\"", c->name,
                          err.msg);
        }
        free(out);
    }
    json_decref(data);
}
END_TEST

// parse_test.go parseTests that must fail, and its errorTests' messages.
static const struct s_case s_parse_errors[] = {
    {"unclosed action", "hello{{range", "template: t:1: unclosed action"},
    {"unmatched end", "{{end}}", "template: t:1: unexpected {{end}}"},
    {"unmatched else", "{{else}}", "template: t:1: unexpected {{else}}"},
    {"missing end", "hello{{range .x}}", "template: t:1: unexpected EOF"},
    {"missing end after else", "hello{{range .x}}{{else}}", "template: t:1: unexpected EOF"},
    {"undefined function", "hello{{undefined}}",
     "template: t:1: function \"undefined\" not defined"},
    {"undefined variable", "{{$x}}", "template: t:1: undefined variable \"$x\""},
    {"variable undefined after end", "{{with $x := 4}}{{end}}{{$x}}",
     "template: t:1: undefined variable \"$x\""},
    {"variable undefined in template", "{{template $v}}", NULL},
    {"declare with field", "{{with $x.Y := 4}}{{end}}", NULL},
    {"template with field ref", "{{template .X}}", NULL},
    {"invalid punctuation", "{{printf 3, 4}}", NULL},
    {"multidecl outside range", "{{with $v, $u := 3}}{{end}}", NULL},
    {"too many decls in range", "{{range $u, $v, $w := 3}}{{end}}", NULL},
    {"adjacent args", "{{printf 3`x`}}", NULL},
    {"extra end after if", "{{if .X}}a{{else if .Y}}b{{end}}{{end}}",
     "template: t:1: unexpected {{end}}"},
    {"break outside range", "{{range .}}{{end}} {{break}}",
     "template: t:1: {{break}} outside {{range}}"},
    {"continue outside range", "{{range .}}{{end}} {{continue}}",
     "template: t:1: {{continue}} outside {{range}}"},
    {"break in range else", "{{range .}}{{else}}{{break}}{{end}}",
     "template: t:1: {{break}} outside {{range}}"},
    {"unclosed comment", "{{/*}}", NULL},
    {"number syntax", "{{3k}}", "template: t:1: bad number syntax: \"3k\""},
    {"empty pipeline", "{{printf \"%d\" ( ) }}", NULL},
    {"unterminated string", "{{\"abc}}", "template: t:1: unterminated quoted string"},
    {"non executable command", "{{ .X | 3 }}",
     "template: t:1: non executable command in pipeline stage 2"},
    {"missing value for if", "{{if}}x{{end}}", "template: t:1: missing value for if"},
    {"error on line 3", "a\nb\n{{ nope }}", "template: t:3: function \"nope\" not defined"},
    {"outer variable in define", "{{$x := 1}}{{define \"a\"}}{{$x}}{{end}}",
     "template: t:1: undefined variable \"$x\""},
    {"define inside if", "{{if 1}}{{define \"x\"}}{{end}}{{end}}", NULL},
    // template_diff.sh against amtool 0.25 (Go 1.19)
    {"comment after a space", "{{ /* c */ }}", "template: t:1: unexpected \"/\" in command"},
    {"punctuation after an operand", "{{ 1 ; }}", "template: t:1: unexpected \";\" in operand"},
    {"two non-empty defines in one text", "{{define \"a\"}}x{{end}}\n{{define \"a\"}}y{{end}}",
     "template: t:2: template: multiple definition of template \"a\""},
    {"two non-empty blocks in one text", "{{block \"a\" .}}x{{end}}{{block \"a\" .}}y{{end}}",
     "template: t:1: template: multiple definition of template \"a\""},
};

START_TEST(test_fw_tmpl_parse_errors)
{
    for (size_t i = 0; i < sizeof(s_parse_errors) / sizeof(s_parse_errors[0]); i++) {
        const struct s_case *c = &s_parse_errors[i];
        fw_tmpl_set_t *set = fw_tmpl_set_new();
        fw_err_t err = {0};
        ck_assert_msg(fw_tmpl_parse(set, "t", c->text, &err) == -1, "%s: parsed", c->name);
        if (c->want)
            ck_assert_msg(strcmp(err.msg, c->want) == 0, "%s: got \"%s\" want \"%s\"", c->name,
                          err.msg, c->want);
        else
            ck_assert_msg(strncmp(err.msg, "template: t:", 12) == 0, "%s: \"%s\"", c->name,
                          err.msg);
        ck_assert_str_eq(err.file, "t");
        ck_assert_int_gt(err.line, 0);
        fw_tmpl_set_destroy(&set);
    }
}
END_TEST

// Execution errors carry Go's position (0-based column) and context.
START_TEST(test_fw_tmpl_exec_errors)
{
    json_t *data = s_data();
    static const struct s_case cases[] = {
        {"index", "{{index .SI 10}}",
         "template: t:1:2: executing \"t\" at <index .SI 10>: error calling index: index out of "
         "range: 10"},
        {"field", "ab\n  {{.X.Y}}",
         "template: t:2:6: executing \"t\" at <.X.Y>: can't evaluate field Y in type string"},
        {"eq", "{{eq 1 1.0}}",
         "template: t:1:2: executing \"t\" at <eq 1 1.0>: error calling eq: incompatible types "
         "for comparison"},
        {"len", "{{len 3}}",
         "template: t:1:2: executing \"t\" at <len 3>: error calling len: len of type int"},
        {"nested template", "{{define \"x\"}}\n{{index . 5}}{{end}}{{template \"x\" .SI}}",
         "template: t:2:2: executing \"x\" at <index . 5>: error calling index: index out of "
         "range: 5"},
        {"wrong args", "{{printf}}",
         "template: t:1:2: executing \"t\" at <printf>: wrong number of args for printf: want at "
         "least 1 got 0"},
        {"final arg", "{{printf \"%s\" 1 2 3 4 5 6 7 8 9 | len 3}}",
         "template: t:1:34: executing \"t\" at <len>: wrong number of args for len: want 1 got "
         "2"},
        // whole, as Alertmanager 0.25's Go shows it (older Go cut it at 20 bytes)
        {"long context", "{{index .SI 10 11 12 13 14}}",
         "template: t:1:2: executing \"t\" at <index .SI 10 11 12 13 14>: error calling index: "
         "index out of range: 10"},
        // template_diff.sh against amtool 0.25 (Go 1.19)
        {"range over an int", "{{range 3}}{{end}}",
         "template: t:1:8: executing \"t\" at <3>: range can't iterate over 3"},
        {"range at its pipeline's last word", "{{range $v := .X | print}}{{end}}",
         "template: t:1:19: executing \"t\" at <print>: range can't iterate over x"},
        {"a variable in its own declaration", "{{$x := print $x}}",
         "template: t:1:14: executing \"t\" at <$x>: undefined variable: $x"},
        {"eq without arguments", "{{eq}}",
         "template: t:1:2: executing \"t\" at <eq>: wrong number of args for eq: want at least 1 "
         "got 0"},
        {"eq with one argument", "{{eq 1}}",
         "template: t:1:2: executing \"t\" at <eq 1>: error calling eq: missing argument for "
         "comparison"},
        {"lt string bool", "{{lt \"a\" true}}",
         "template: t:1:2: executing \"t\" at <lt \"a\" true>: error calling lt: incompatible "
         "types for comparison"},
        {"eq slice int", "{{eq .SI 1}}",
         "template: t:1:2: executing \"t\" at <eq .SI 1>: error calling eq: incompatible types for "
         "comparison"},
        {"slice 3-index", "{{slice .SI 1 2 0}}",
         "template: t:1:2: executing \"t\" at <slice .SI 1 2 0>: error calling slice: invalid "
         "slice "
         "index: 2 > 0"},
        {"index with a nil key", "{{index .MSI nil}}",
         "template: t:1:2: executing \"t\" at <index .MSI nil>: error calling index: value is nil; "
         "should be of type string"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fw_err_t err = {0};
        char *out = s_run(cases[i].text, data, &err);
        ck_assert_msg(out == NULL, "%s: no error", cases[i].name);
        ck_assert_msg(strcmp(err.msg, cases[i].want) == 0, "%s: got \"%s\"", cases[i].name,
                      err.msg);
    }
    json_decref(data);
}
END_TEST

// Limits: range iterations, output size, nesting.
START_TEST(test_fw_tmpl_limits)
{
    fw_tmpl_set_t *set = fw_tmpl_set_new();
    fw_tmpl_set_limits(set, 1000, 50);
    fw_err_t err = {0};
    char *out = NULL;
    json_t *ten = json_pack("[iiiiiiiiii]", 0, 1, 2, 3, 4, 5, 6, 7, 8, 9);
    json_t *thirty = json_array();
    for (int i = 0; i < 30; i++)
        json_array_append_new(thirty, json_integer(i));
    ck_assert_int_eq(fw_tmpl_parse(set, "loop", "{{range .}}{{range $}}x{{end}}{{end}}", &err), 0);
    ck_assert_int_eq(fw_tmpl_exec(set, "loop", ten, &out, &err), -1);
    s_assert_has(err.msg, "too many range iterations");
    ck_assert_int_eq(
        fw_tmpl_parse(set, "big", "{{range .}}xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx{{end}}", &err),
        0);
    ck_assert_int_eq(fw_tmpl_exec(set, "big", thirty, &out, &err), -1);
    json_decref(ten);
    json_decref(thirty);
    s_assert_has(err.msg, "template output too large");
    // a template that calls itself
    ck_assert_int_eq(fw_tmpl_parse(set, "rec", "{{define \"r\"}}{{template \"r\" .}}{{end}}", &err),
                     0);
    ck_assert_int_eq(fw_tmpl_exec(set, "r", NULL, &out, &err), -1);
    s_assert_has(err.msg, "exceeded maximum template depth (1000)");
    // 100,000 nested blocks or parentheses: a parse error, never a stack overflow
    size_t n = 100000;
    char *deep = malloc(n * 16 + 16);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += (size_t)sprintf(deep + k, "{{if true}}");
    deep[k] = '\0';
    ck_assert_int_eq(fw_tmpl_parse(set, "deep", deep, &err), -1);
    s_assert_has(err.msg, "max expression depth exceeded");
    k = (size_t)sprintf(deep, "{{");
    for (size_t i = 0; i < n; i++)
        deep[k++] = '(';
    deep[k] = '\0';
    ck_assert_int_eq(fw_tmpl_parse(set, "deep", deep, &err), -1);
    free(deep);
    ck_assert_ptr_null(out);
    fw_tmpl_set_destroy(&set);
}
END_TEST

static const char *const s_payload =
    "{\"receiver\":\"team-x\",\"status\":\"firing\",\"externalURL\":\"http://am:9093\","
    "\"groupLabels\":{\"alertname\":\"LineDown\"},"
    "\"commonLabels\":{\"alertname\":\"LineDown\",\"severity\":\"page\"},"
    "\"commonAnnotations\":{\"summary\":\"line down\"},"
    "\"alerts\":[{\"status\":\"firing\",\"labels\":{\"alertname\":\"LineDown\",\"line\":\"1\","
    "\"severity\":\"page\"},\"annotations\":{\"summary\":\"line down\"},"
    "\"startsAt\":\"2026-01-02T03:04:05.5Z\",\"endsAt\":\"0001-01-01T00:00:00Z\","
    "\"generatorURL\":\"http://prom/g\",\"fingerprint\":\"abc\"},"
    "{\"status\":\"resolved\",\"labels\":{\"alertname\":\"LineDown\",\"line\":\"2\","
    "\"severity\":\"page\"},\"annotations\":{\"summary\":\"line down\"},"
    "\"startsAt\":\"2026-01-02T03:00:00Z\",\"endsAt\":\"2026-01-02T03:05:00Z\","
    "\"generatorURL\":\"http://prom/g2\",\"fingerprint\":\"def\"}]}";

static fw_tmpl_set_t *
s_am_set(json_t **data)
{
    fw_tmpl_set_t *set = fw_tmpl_set_new();
    fw_tmpl_set_use_alertmanager(set);
    json_error_t je;
    json_t *payload = json_loads(s_payload, 0, &je);
    ck_assert_ptr_nonnull(payload);
    *data = fw_tmpl_am_data(payload);
    json_decref(payload);
    return set;
}

static void
s_am_expect(fw_tmpl_set_t *set, json_t *data, const char *text, const char *want)
{
    fw_err_t err = {0};
    char *out = NULL;
    int rc = fw_tmpl_exec_text(set, "x", text, data, &out, &err);
    ck_assert_msg(rc == 0, "%s: %s", text, err.msg);
    ck_assert_msg(strcmp(out, want) == 0, "%s: got \"%s\" want \"%s\"", text, out, want);
    free(out);
}

// Alertmanager's functions and data (template.go: DefaultFuncs, KV, Alerts).
START_TEST(test_fw_tmpl_alertmanager_funcs)
{
    json_t *data;
    fw_tmpl_set_t *set = s_am_set(&data);
    s_am_expect(set, data, "{{ .Status | toUpper }} {{ .Receiver | title }}", "FIRING Team-X");
    // strings.ToUpper/ToLower map every letter by Unicode's simple mappings (what amtool 0.25
    // renders): the length in bytes may change (U+017F to S, U+0250 to U+2C6F).
    s_am_expect(set, data,
                "{{ toUpper \"ünï ǆ ſ ɐ ß ı straße σς ა\" }}|{{ toLower \"ÜNÏ Ǆ ẞ K İ Σ\" }}",
                "ÜNÏ Ǆ S Ɐ ß I STRAßE ΣΣ Ა|ünï ǆ ß k i σ");
    // title as x/text/cases.Title: the first cased letter of a word (digits and uncased
    // letters go before it) in title case, full mappings (ß -> Ss), the rest lowered with a
    // final sigma; ', . and : join a word, two of them in a row end it (amtool 0.25's output).
    s_am_expect(set, data, "{{ title \"'abc _abc 9lives 中a x3d a.b a-b a:b a..b ßa éß ǆ3 ﬁx\" }}",
                "'Abc _Abc 9Lives 中A X3d A.b A-B A:b A..B Ssa Éß ǅ3 Fix");
    s_am_expect(set, data, "{{ title \"émile ÉCOLE ΟΔΟΣ ǈUBO ŉ\" }}", "Émile École Οδος ǈubo ʼN");
    // printf's %x of a string: a space between bytes, '#' a 0x before each then (fmtSbx).
    s_am_expect(set, data, "{{ printf \"% x|%#x|% #X|% .3x\" \"abcd\" \"ab\" \"ab\" \"abcd\" }}",
                "61 62 63 64|0x6162|0X61 0X62|61 62 63");
    s_am_expect(set, data, "{{ .Alerts.Firing | len }}/{{ len .Alerts.Resolved }}", "1/1");
    s_am_expect(set, data, "{{ .CommonLabels.SortedPairs.Values | join \",\" }}", "LineDown,page");
    s_am_expect(set, data, "{{ .CommonLabels.Names }}", "[alertname severity]");
    s_am_expect(set, data, "{{ (.CommonLabels.Remove (stringSlice \"severity\")).Names }}",
                "[alertname]");
    s_am_expect(set, data, "{{ .CommonLabels.nosuch }}|", "|"); // missingkey=zero
    s_am_expect(set, data, "{{ range .Alerts }}{{ .Labels.line }}{{ end }}", "12");
    s_am_expect(set, data,
                "{{ range .CommonLabels.SortedPairs }}{{ .Name }}={{ .Value }};{{ end }}",
                "alertname=LineDown;severity=page;");
    s_am_expect(set, data,
                "{{ match \"^Line\" .CommonLabels.alertname }} {{ match \"own$\" \"x\" }}",
                "true false");
    s_am_expect(set, data, "{{ reReplaceAll \"(a)(b)?\" \"[$1$2]\" \"xabyaz\" }}", "x[ab]y[a]z");
    s_am_expect(set, data, "{{ reReplaceAll \"a*\" \"-\" \"baaac\" }}", "-b-c-");
    s_am_expect(set, data, "{{ \"  x  \" | trimSpace }}{{ \"hELLO wORLD\" | title }}",
                "xHello World");
    s_am_expect(set, data, "{{ (index .Alerts 0).StartsAt }}", "2026-01-02 03:04:05.5 +0000 UTC");
    s_am_expect(set, data,
                "{{ (index .Alerts 0).StartsAt | date \"2006-01-02T15:04:05Z07:00 Mon Jan\" }}",
                "2026-01-02T03:04:05Z Fri Jan");
    s_am_expect(set, data, "{{ \"x\" | safeHtml }}{{ .ExternalURL }}", "xhttp://am:9093");
    // template.HTML is a Go string; an empty define yields to a full one (template_diff.sh)
    s_am_expect(set, data,
                "{{ len (safeHtml \"abc\") }} {{ lt (safeHtml \"a\") \"b\" }} {{ not (safeHtml "
                "\"\") }}",
                "3 true true");
    s_am_expect(set, data, "{{define \"a\"}} {{end}}{{define \"a\"}}y{{end}}{{template \"a\"}}",
                "y");
    // Go's structs print as {a b}, and Go's type names (template_diff.sh)
    s_am_expect(set, data, "{{ index .Alerts 1 }}",
                "{resolved map[alertname:LineDown line:2 severity:page] map[summary:line down] "
                "2026-01-02 03:00:00 +0000 UTC 2026-01-02 03:05:00 +0000 UTC http://prom/g2 def}");
    s_am_expect(set, data, "{{ printf \"%T %T %T\" .Alerts .CommonLabels.Names (safeHtml \"x\") }}",
                "template.Alerts []string template.HTML");
    s_am_expect(set, data, "{{ title \"a b-c_d e'f\" }}", "A B-C_d E'f");
    s_am_expect(set, data,
                "{{ and 1 nil }}|{{ or 0 nil }}|{{ urlquery nil \"a\" }}|{{ print nil }}",
                "<no value>|<no value>|%3Cno+value%3Ea|<nil>");
    // fmt's explicit argument indexes and '*' widths (template_diff.sh)
    s_am_expect(set, data, "{{ printf \"%[2]v %[1]v|%[3]d|%[2]*[1]d|%*d|%.*d|%[1]d %d\" 1 2 }}",
                "2 1|%!d(BADINDEX)| 1|%!d(MISSING)|%!(BADPREC)%!d(MISSING)|1 2");
    static const char *const errs[][2] = {
        {"{{ .CommonLabels.Remove }}", "template: x:1:16: executing \"x\" at "
                                       "<.CommonLabels.Remove>: wrong number of args for Remove: "
                                       "want 1 got 0"},
        {"{{ join \",\" \"a\" }}", "template: x:1:12: executing \"x\" at <\"a\">: can't handle "
                                   "\"a\" for arg of type []string"},
        // Go checks a value's type after its pipeline ran: at the last word evaluated
        {"{{ toUpper (len \"ab\") }}", "template: x:1:16: executing \"x\" at <\"ab\">: wrong type "
                                       "for value; expected string; got int"},
        {"{{ \"x\" | join \",\" }}", "template: x:1:14: executing \"x\" at <\",\">: wrong type "
                                     "for value; expected []string; got string"},
        {"{{ len nil }}", "template: x:1:3: executing \"x\" at <len nil>: error calling len: "
                          "reflect: call of reflect.Value.Type on zero Value"},
        {"{{ join (true) (stringSlice 1) }}", "template: x:1:9: executing \"x\" at <true>: wrong "
                                              "type for value; expected string; got bool"},
        {"{{ len (index .Alerts 0) }}", "template: x:1:3: executing \"x\" at <len (index .Alerts "
                                        "0)>: error calling len: len of type template.Alert"},
        {"{{ index (index .Alerts 0) \"Status\" }}",
         "template: x:1:3: executing \"x\" at <index (index .Alerts 0) \"Status\">: error calling "
         "index: can't index item of type template.Alert"},
        {"{{ range index .CommonLabels.SortedPairs 0 }}{{ end }}",
         "template: x:1:41: executing \"x\" at <0>: range can't iterate over {alertname "
         "LineDown}"},
        {"{{ slice .CommonLabels 1 }}", "template: x:1:3: executing \"x\" at <slice .CommonLabels "
                                        "1>: error calling slice: can't slice item of type "
                                        "template.KV"},
        {"{{ eq .CommonLabels.Names .CommonLabels.Names }}",
         "template: x:1:3: executing \"x\" at <eq .CommonLabels.Names .CommonLabels.Names>: error "
         "calling eq: non-comparable type [alertname severity]: []string"},
        {"{{ with safeHtml \"x\" }}{{ .Foo }}{{ end }}",
         "template: x:1:26: executing \"x\" at <.Foo>: can't evaluate field Foo in type "
         "template.HTML"},
        {"{{ index (stringSlice \"a\") 1 }}",
         "template: x:1:3: executing \"x\" at <index "
         "(stringSlice \"a\") 1>: error calling index: reflect: "
         "slice index out of range"},
        {"{{ toUpper (.CommonLabels.Remove (stringSlice \"a\" \"x\")) }}",
         "template: x:1:50: executing \"x\" at <\"x\">: wrong type for value; expected string; "
         "got template.KV"},
    };
    for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
        fw_err_t e2 = {0};
        char *o2 = NULL;
        ck_assert_int_eq(fw_tmpl_exec_text(set, "x", errs[i][0], data, &o2, &e2), -1);
        ck_assert_str_eq(e2.msg, errs[i][1]);
    }
    fw_err_t err = {0};
    char *out = NULL;
    ck_assert_int_eq(
        fw_tmpl_exec_text(set, "x", "{{ reReplaceAll \"(\" \"\" \"\" }}", data, &out, &err), -1);
    s_assert_has(err.msg, "error calling reReplaceAll: regexp: Compile(`(`): error parsing "
                          "regexp: missing closing ): `(`");
    fw_tmpl_set_destroy(&set);
    json_decref(data);
}
END_TEST

// A config text with if/else if, range with $i, $v and else, with, Remove/SortedPairs,
// printf/print/println, index, reReplaceAll, title, js, urlquery, html, slice and a missing
// key, sent through the real Debian prometheus-alertmanager 0.25 (slack_configs[].text, the
// alerts of s_payload firing, receiver "slack", --web.external-url=http://am:9093) to a local
// capture server: s_am_text_want is the attachments[0].text it posted.
static const char *const s_am_text =
    "{{ range $i, $a := .Alerts }}{{ $i }}:{{ $a.Labels.line }}:{{ .Annotations.summary |"
    " toUpper }} {{ else }}none{{ end }}|{{ with .CommonLabels.Remove .GroupLabels.Names "
    "}}{{ .SortedPairs }}{{ end }}|{{ printf \"%5.2f|%q|%v\" 3.14159 \"a\" .GroupLabels }"
    "}|{{ len .Alerts.Firing }}|{{ if and (eq .Status \"firing\") (gt (len .Alerts) 1) }}"
    "many{{ else if eq .Status \"firing\" }}one{{ end }}|{{ .CommonLabels.nope }}|{{ inde"
    "x .CommonLabels \"severity\" }}|{{ reReplaceAll \"(\\\\d+)\" \"<$1>\" \"a1b22\" }}|{"
    "{ title \"hELLO wORLD\" }}|{{ .Alerts | len }}|{{ (index .Alerts 0).StartsAt }}|{{ j"
    "s \"<a=b>\" }}|{{ urlquery \"a b&c\" }}|{{ html \"<x>\" }}|{{ println 1 \"a\" 2 }}|{"
    "{ print 1 2 \"a\" \"b\" 3 }}|{{ slice \"abcdef\" 1 3 }}|{{ .Receiver }}";
static const char *const s_am_text_want =
    "0:1:LINE DOWN 1:2:LINE DOWN |[{severity page}]| 3.14|\"a\"|map[alertname:LineDown]|2"
    "|many||page|a<1>b<22>|Hello World|2|2026-01-02 03:04:05.5 +0000 UTC|\\u003Ca\\u003Db"
    "\\u003E|a+b%26c|&lt;x&gt;|1 a 2\n|1 2ab3|bc|slack";

START_TEST(test_fw_tmpl_alertmanager_real)
{
    json_error_t je;
    json_t *payload = json_loads(s_payload, 0, &je);
    ck_assert_ptr_nonnull(payload);
    json_object_set_new(payload, "receiver", json_string("slack"));
    json_t *second = json_array_get(json_object_get(payload, "alerts"), 1);
    json_object_set_new(second, "status", json_string("firing"));
    json_object_set_new(second, "endsAt", json_string("0001-01-01T00:00:00Z"));
    json_t *data = fw_tmpl_am_data(payload);
    json_decref(payload);
    fw_tmpl_set_t *set = fw_tmpl_set_new();
    fw_tmpl_set_use_alertmanager(set);
    fw_err_t err = {0};
    char *out = NULL;
    ck_assert_msg(fw_tmpl_exec_text(set, "text", s_am_text, data, &out, &err) == 0, "%s", err.msg);
    ck_assert_str_eq(out, s_am_text_want);
    free(out);
    fw_tmpl_set_destroy(&set);
    json_decref(data);
}
END_TEST

// Debian prometheus-alertmanager 0.25's default.tmpl rendered for the sample payload.
START_TEST(test_fw_tmpl_alertmanager_default_tmpl)
{
    // Alertmanager loads default.tmpl and email.tmpl (template.FromGlobs)
    static const char *const files[] = {"/usr/share/prometheus/alertmanager/default.tmpl",
                                        "/usr/share/prometheus/alertmanager/email.tmpl"};
    json_t *data;
    fw_tmpl_set_t *set = s_am_set(&data);
    fw_err_t err = {0};
    for (size_t i = 0; i < 2; i++) {
        FILE *f = fopen(files[i], "r");
        if (!f) {
            fprintf(stderr, "check_fw_tmpl: %s absent, default templates not rendered\n", files[i]);
            fw_tmpl_set_destroy(&set);
            json_decref(data);
            return;
        }
        char *text = calloc(1, 1 << 20);
        size_t n = fread(text, 1, (1 << 20) - 1, f);
        fclose(f);
        ck_assert_int_gt((int)n, 1000);
        ck_assert_msg(fw_tmpl_parse(set, files[i] + 35, text, &err) == 0, "%s", err.msg);
        free(text);
    }
    static const struct s_case want[] = {
        {"slack.default.title", NULL, "[FIRING:1] LineDown (page)"},
        {"slack.default.username", NULL, "Alertmanager"},
        {"slack.default.fallback", NULL,
         "[FIRING:1] LineDown (page) | http://am:9093/#/alerts?receiver=team-x"},
        {"slack.default.titlelink", NULL, "http://am:9093/#/alerts?receiver=team-x"},
        {"slack.default.text", NULL, ""},
        {"email.default.subject", NULL, "[FIRING:1] LineDown (page)"},
        {"pagerduty.default.description", NULL, "[FIRING:1] LineDown (page)"},
        {"pagerduty.default.instances", "{{ template \"pagerduty.default.instances\" .Alerts }}",
         "Labels:\n - alertname = LineDown\n - line = 1\n - severity = page\nAnnotations:\n"
         " - summary = line down\nSource: http://prom/g\nLabels:\n - alertname = LineDown\n"
         " - line = 2\n - severity = page\nAnnotations:\n - summary = line down\n"
         "Source: http://prom/g2\n"},
        {"opsgenie.default.description", NULL,
         "line down\nAlerts Firing:\nLabels:\n - alertname = LineDown\n - line = 1\n"
         " - severity = page\nAnnotations:\n - summary = line down\nSource: http://prom/g\n"
         "\nAlerts Resolved:\nLabels:\n - alertname = LineDown\n - line = 2\n - severity = page\n"
         "Annotations:\n - summary = line down\nSource: http://prom/g2\n"},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        char *out = NULL;
        int rc = want[i].text ? fw_tmpl_exec_text(set, "t", want[i].text, data, &out, &err)
                              : fw_tmpl_exec(set, want[i].name, data, &out, &err);
        ck_assert_msg(rc == 0, "%s: %s", want[i].name, err.msg);
        ck_assert_msg(strcmp(out, want[i].want) == 0, "%s: got \"%s\"", want[i].name, out);
        free(out);
    }
    // email.default.html runs to the end
    char *html = NULL;
    ck_assert_msg(fw_tmpl_exec(set, "email.default.html", data, &html, &err) == 0, "%s", err.msg);
    s_assert_has(html, "[1] Firing");
    s_assert_has(html, "line = 2<br");
    free(html);
    // resolved: no count
    json_object_set_new(data, "Status", json_string("resolved"));
    char *title = NULL;
    ck_assert_int_eq(fw_tmpl_exec(set, "slack.default.title", data, &title, &err), 0);
    ck_assert_str_eq(title, "[RESOLVED] LineDown (page)");
    free(title);
    // a config text over the definitions (ExecuteTextString)
    char *t2 = NULL;
    ck_assert_int_eq(fw_tmpl_exec_text(set, "title", "{{ template \"slack.default.title\" . }}!",
                                       data, &t2, &err),
                     0);
    ck_assert_str_eq(t2, "[RESOLVED] LineDown (page)!");
    free(t2);
    fw_tmpl_set_destroy(&set);
    json_decref(data);
}
END_TEST

// Alertmanager loads default.tmpl and email.tmpl (template.FromGlobs): false when the Debian
// package's copies are absent.
static bool
s_load_am_defaults(fw_tmpl_set_t *set)
{
    static const char *const files[] = {"/usr/share/prometheus/alertmanager/default.tmpl",
                                        "/usr/share/prometheus/alertmanager/email.tmpl"};
    for (size_t i = 0; i < 2; i++) {
        FILE *f = fopen(files[i], "r");
        if (!f) {
            fprintf(stderr, "check_fw_tmpl: %s absent, default templates not rendered\n", files[i]);
            return false;
        }
        char *text = calloc(1, 1 << 20);
        size_t n = fread(text, 1, (1 << 20) - 1, f);
        fclose(f);
        ck_assert_int_gt((int)n, 1000);
        fw_err_t err = {0};
        ck_assert_msg(fw_tmpl_parse(set, files[i] + 35, text, &err) == 0, "%s", err.msg);
        free(text);
    }
    return true;
}

static char *
s_read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "%s", path);
    char *text = calloc(1, 1 << 20);
    size_t n = fread(text, 1, (1 << 20) - 1, f);
    text[n] = '\0';
    fclose(f);
    return text;
}

// HTML mode: html/template's escaping by context (fw_tmpl_html.c).
START_TEST(test_fw_tmpl_html)
{
    fw_tmpl_set_t *set = fw_tmpl_set_new();
    fw_tmpl_set_use_alertmanager(set);
    fw_tmpl_set_html(set, true);
    json_t *d = json_pack("{s:s,s:s,s:s}", "V", "a<b&c\"d'e+f", "U", "http://x/a b?q=1&r=2", "J",
                          "javascript:alert(1)");
    static const struct s_case cases[] = {
        {"text", "<p>{{ .V }}</p>", "<p>a&lt;b&amp;c&#34;d&#39;e&#43;f</p>"},
        {"attribute", "<p title=\"{{ .V }}\">", "<p title=\"a&lt;b&amp;c&#34;d&#39;e&#43;f\">"},
        {"url attribute", "<a href=\"{{ .U }}\">", "<a href=\"http://x/a%20b?q=1&amp;r=2\">"},
        {"url query part", "<a href=\"/x?q={{ .V }}\">", "<a href=\"/x?q=a%3cb%26c%22d%27e%2bf\">"},
        {"url filter", "<a href='{{ .J }}'>", "<a href='#ZgotmplZ'>"},
        {"safeHtml", "<p>{{ .V | safeHtml }}</p>", "<p>a<b&c\"d'e+f</p>"},
        {"comment dropped", "a<!-- x -->b{{ .Nope }}c", "abc"},
        {"script", "<script>{{ .V }}</script>", NULL},
        {"attribute name", "<p {{ .V }}>", "<p ZgotmplZ>"},
        {"plain attribute name", "<input {{ \"Checked\" }}>", "<input checked>"},
        {"url attribute name", "<a {{ \"href\" }}=x>", "<a ZgotmplZ=x>"},
        {"unquoted value", "<p id={{ .V }}>", NULL},
        // a '<' that starts no tag is text, written &lt; as html/template does (the outputs
        // of amtool 0.25's template render --template.type=html for these texts)
        {"lt before an action", "<{{ .V }}>", "&lt;a&lt;b&amp;c&#34;d&#39;e&#43;f>"},
        {"lt slash before an action", "</{{ .V }}", "&lt;/a&lt;b&amp;c&#34;d&#39;e&#43;f"},
        {"lt and a blank", "x < {{ .V }}", "x &lt; a&lt;b&amp;c&#34;d&#39;e&#43;f"},
        {"lt and a digit", "<1{{ .V }}", "&lt;1a&lt;b&amp;c&#34;d&#39;e&#43;f"},
        {"doctype kept", "<!DOCTYPE html><p>{{ .V }}",
         "<!DOCTYPE html><p>a&lt;b&amp;c&#34;d&#39;e&#43;f"},
        {"tag over two text nodes", "<p title=\"a>b{{ .V }}\">x<y>",
         "<p title=\"a>ba&lt;b&amp;c&#34;d&#39;e&#43;f\">x<y>"},
        {"quoted > in a tag", "<p title=\"a>b\" id=\"{{ .V }}\">1 < 2",
         "<p title=\"a>b\" id=\"a&lt;b&amp;c&#34;d&#39;e&#43;f\">1 &lt; 2"},
        {"end tag", "</p {{ .V }}>", "</p ZgotmplZ>"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fw_err_t err = {0};
        char *out = NULL;
        int rc = fw_tmpl_exec_text(set, "h", cases[i].text, d, &out, &err);
        if (cases[i].want) {
            ck_assert_msg(rc == 0, "%s: %s", cases[i].name, err.msg);
            ck_assert_msg(strcmp(out, cases[i].want) == 0, "%s: got %s", cases[i].name, out);
        } else {
            ck_assert_msg(rc == -1, "%s: no error", cases[i].name);
            s_assert_has(err.msg, "not supported");
        }
        free(out);
    }
    json_decref(d);
    fw_tmpl_set_destroy(&set);
}
END_TEST

// email.default.html in HTML mode for test/data/fw_tmpl/am025_email_payload.json (label and
// annotation values with < & " ' +, generator URLs with a blank, + and &) is, byte for byte,
// the text/html part the real Debian prometheus-alertmanager 0.25 sent to a local SMTP server
// (test/it/smtp_sink.py) for the same alerts (test/data/fw_tmpl/am025_email.html, CRLF as LF).
START_TEST(test_fw_tmpl_html_email_am025)
{
    fw_tmpl_set_t *set = fw_tmpl_set_new();
    fw_tmpl_set_use_alertmanager(set);
    fw_tmpl_set_html(set, true);
    if (!s_load_am_defaults(set)) {
        fw_tmpl_set_destroy(&set);
        return;
    }
    json_error_t je;
    json_t *payload = json_load_file("test/data/fw_tmpl/am025_email_payload.json", 0, &je);
    ck_assert_ptr_nonnull(payload);
    json_t *d = fw_tmpl_am_data(payload);
    fw_err_t err = {0};
    char *out = NULL;
    ck_assert_msg(fw_tmpl_exec(set, "email.default.html", d, &out, &err) == 0, "%s", err.msg);
    char *want = s_read_file("test/data/fw_tmpl/am025_email.html");
    ck_assert_str_eq(out, want);
    free(want);
    free(out);
    json_decref(d);
    json_decref(payload);
    fw_tmpl_set_destroy(&set);
}
END_TEST

// Prometheus's functions (template.go): humanize*, first/label/value over query results.
START_TEST(test_fw_tmpl_prometheus_funcs)
{
    fw_tmpl_set_t *set = fw_tmpl_set_new();
    fw_tmpl_set_use_prometheus(set, "http://prom:9090/sub", NULL, NULL);
    json_t *data = json_pack("{s:{s:s},s:f,s:[{s:{s:s},s:f},{s:{s:s},s:f}]}", "Labels", "line",
                             "l1", "Value", 1234567.0, "R", "Labels", "i", "b", "Value", 2.0,
                             "Labels", "i", "a", "Value", 1.0);
    static const struct s_case cases[] = {
        {"humanize", "{{ .Value | humanize }}", "1.235M"},
        {"humanize1024", "{{ humanize1024 2048.0 }}", "2ki"},
        {"humanizePercentage", "{{ humanizePercentage 0.4567 }}", "45.67%"},
        {"humanizeDuration", "{{ humanizeDuration 3725.0 }}", "1h 2m 5s"},
        {"humanizeDuration string", "{{ humanizeDuration \"90061\" }}", "1d 1h 1m 1s"},
        {"humanizeTimestamp", "{{ humanizeTimestamp 1435065584.128 }}",
         "2015-06-23 13:19:44.128 +0000 UTC"},
        {"first label value", "{{ with .R | first }}{{ label \"i\" . }}={{ value . }}{{ end }}",
         "b=2"},
        {"sortByLabel", "{{ range sortByLabel \"i\" .R }}{{ label \"i\" . }}{{ end }}", "ab"},
        {"stripPort", "{{ stripPort \"host:9100\" }} {{ stripPort \"[::1]:80\" }}", "host ::1"},
        {"stripDomain", "{{ stripDomain \"a.b.c:80\" }} {{ stripDomain \"10.0.0.1\" }}",
         "a:80 10.0.0.1"},
        {"parseDuration", "{{ parseDuration \"1h30m\" }}", "5400"},
        {"externalURL pathPrefix", "{{ externalURL }} {{ pathPrefix }}",
         "http://prom:9090/sub /sub"},
        {"args", "{{ with args 1 \"x\" }}{{ .arg0 }}{{ .arg1 }}{{ end }}", "1x"},
        {"title keeps case", "{{ title \"hELLO\" }}", "HELLO"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fw_err_t err = {0};
        char *out = NULL;
        ck_assert_msg(fw_tmpl_exec_text(set, "t", cases[i].text, data, &out, &err) == 0, "%s: %s",
                      cases[i].name, err.msg);
        ck_assert_msg(strcmp(out, cases[i].want) == 0, "%s: got \"%s\"", cases[i].name, out);
        free(out);
    }
    fw_err_t err = {0};
    char *out = NULL;
    ck_assert_int_eq(fw_tmpl_exec_text(set, "t", "{{ humanize \"abc\" }}", data, &out, &err), -1);
    s_assert_has(err.msg, "strconv.ParseFloat: parsing \"abc\": invalid syntax");
    ck_assert_int_eq(fw_tmpl_check(set, "t", "{{ query \"up\" }}", &err), -1);
    ck_assert_str_eq(err.msg, "template: t:1: function \"query\" not defined");
    fw_tmpl_set_destroy(&set);
    json_decref(data);
}
END_TEST

// Later definitions replace earlier ones; an empty body does not replace a non-empty one.
START_TEST(test_fw_tmpl_redefine)
{
    fw_tmpl_set_t *set = fw_tmpl_set_new();
    fw_err_t err = {0};
    char *out = NULL;
    ck_assert_int_eq(fw_tmpl_parse(set, "a", "{{define \"x\"}}one{{end}}", &err), 0);
    ck_assert_int_eq(fw_tmpl_parse(set, "b", "{{define \"x\"}}two{{end}}", &err), 0);
    ck_assert_int_eq(fw_tmpl_parse(set, "c", "{{define \"x\"}} {{end}}", &err), 0);
    ck_assert(fw_tmpl_has(set, "x"));
    ck_assert(!fw_tmpl_has(set, "y"));
    ck_assert_int_eq(fw_tmpl_exec(set, "x", NULL, &out, &err), 0);
    ck_assert_str_eq(out, "two");
    free(out);
    ck_assert_int_eq(fw_tmpl_exec(set, "y", NULL, &out, &err), -1);
    fw_tmpl_set_destroy(&set);
}
END_TEST

Suite *
fw_tmpl_suite(void)
{
    Suite *s = suite_create("fw_tmpl");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_fw_tmpl_exec_table);
    tcase_add_test(tc, test_fw_tmpl_parse_errors);
    tcase_add_test(tc, test_fw_tmpl_exec_errors);
    tcase_add_test(tc, test_fw_tmpl_limits);
    tcase_add_test(tc, test_fw_tmpl_alertmanager_funcs);
    tcase_add_test(tc, test_fw_tmpl_alertmanager_default_tmpl);
    tcase_add_test(tc, test_fw_tmpl_alertmanager_real);
    tcase_add_test(tc, test_fw_tmpl_html);
    tcase_add_test(tc, test_fw_tmpl_html_email_am025);
    tcase_add_test(tc, test_fw_tmpl_prometheus_funcs);
    tcase_add_test(tc, test_fw_tmpl_redefine);
    suite_add_tcase(s, tc);
    return s;
}
