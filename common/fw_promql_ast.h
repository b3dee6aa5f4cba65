/*  fw_promql_ast.h — the PromQL syntax tree that fw_promql_parse() builds (private to the
    parser and tsdb's evaluator; ruled and slod only see the opaque fw_promql_expr_t).

    The tree is typed at parse time as Prometheus does: every node has the value type it
    produces (scalar, instant vector, range vector, string), and the parser rejects calls,
    aggregations and operators whose operands have the wrong type, so the evaluator can
    trust the shapes it is handed. Label matchers carry their compiled, fully anchored RE2
    pattern (`^(?s:re)$`, fw_regex), so a bad regex is a parse error with its position.
    Every node owns its children and strings; fw_promql_expr_destroy() frees the tree.
*/
#ifndef FW_PROMQL_AST_H
#define FW_PROMQL_AST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fw_promql.h"
#include "fw_matcher.h"

typedef enum {
    FW_PQ_SCALAR,
    FW_PQ_VECTOR, // instant vector
    FW_PQ_MATRIX, // range vector
    FW_PQ_STRING,
} fw_pq_type_t;

typedef enum {
    FW_PQ_NUMBER,   // num
    FW_PQ_STR,      // str
    FW_PQ_SELECTOR, // instant or range selector: matchers, range_ms (0: instant), offset_ms
    FW_PQ_CALL,     // func(args...)
    FW_PQ_AGG,      // op [by|without (grouping)] ([param,] arg)
    FW_PQ_BINARY,   // lhs op rhs, with modifiers
    FW_PQ_NEG,      // -arg
    FW_PQ_PAREN,    // (arg)
    FW_PQ_SUBQUERY, // arg[range_ms:step_ms] offset_ms (step_ms 0: the default 1m)
} fw_pq_kind_t;

typedef enum {
    // arithmetic
    FW_PQ_ADD,
    FW_PQ_SUB,
    FW_PQ_MUL,
    FW_PQ_DIV,
    FW_PQ_MOD,
    FW_PQ_POW,
    FW_PQ_ATAN2,
    // comparison
    FW_PQ_EQL,
    FW_PQ_NEQ,
    FW_PQ_GTR,
    FW_PQ_LSS,
    FW_PQ_GTE,
    FW_PQ_LTE,
    // set
    FW_PQ_AND,
    FW_PQ_OR,
    FW_PQ_UNLESS,
} fw_pq_binop_t;

typedef enum {
    FW_PQ_AGG_SUM,
    FW_PQ_AGG_AVG,
    FW_PQ_AGG_MIN,
    FW_PQ_AGG_MAX,
    FW_PQ_AGG_COUNT,
    FW_PQ_AGG_GROUP,
    FW_PQ_AGG_STDDEV,
    FW_PQ_AGG_STDVAR,
    FW_PQ_AGG_TOPK,
    FW_PQ_AGG_BOTTOMK,
    FW_PQ_AGG_QUANTILE,
    FW_PQ_AGG_COUNT_VALUES,
    FW_PQ_AGG_LIMITK,      // experimental in Prometheus 3, enabled in floorwatch
    FW_PQ_AGG_LIMIT_RATIO, // experimental in Prometheus 3, enabled in floorwatch
} fw_pq_aggop_t;

typedef enum {
    FW_PQ_CARD_ONE_TO_ONE,
    FW_PQ_CARD_MANY_TO_ONE,  // group_left
    FW_PQ_CARD_ONE_TO_MANY,  // group_right
    FW_PQ_CARD_MANY_TO_MANY, // set operators
} fw_pq_card_t;

// The @ modifier of a selector or subquery: none, a fixed time (at_ms), or the query's
// start()/end() (an instant query's both are its time).
typedef enum {
    FW_PQ_AT_NONE,
    FW_PQ_AT_TIME,
    FW_PQ_AT_START,
    FW_PQ_AT_END,
} fw_pq_at_t;

// The PromQL functions, one per row of fw_promql_funcs.def.
#define FW_PQ_FUNC(name, id, ...) FW_PQ_FN_##id,
typedef enum {
#include "fw_promql_funcs.def"
    FW_PQ_FN_COUNT
} fw_pq_func_t;
#undef FW_PQ_FUNC

struct fw_promql_expr {
    fw_pq_kind_t kind;
    fw_pq_type_t type; // value type this node produces
    int pos;           // 0-based byte offset of the node's first token
    int height;        // nodes on the longest path down to a leaf (1 for a leaf); the parser
                       // keeps it within FW_PROMQL_MAX_DEPTH

    double num; // NUMBER
    char *str;  // owned; STR

    // SELECTOR
    char *metric;                // owned; NULL when only matchers were given
    struct fw_matcher *matchers; // owned; includes __name__="metric" when named
    size_t n_matchers;
    int64_t range_ms;  // > 0 for a range selector (and SUBQUERY's range)
    int64_t offset_ms; // SELECTOR and SUBQUERY
    int64_t step_ms;   // SUBQUERY: resolution, 0 for the default
    // SELECTOR and SUBQUERY: a range, offset or step written as a duration expression
    // that depends on the query (step(), range()): the evaluator works it out into
    // range_ms, offset_ms or step_ms when a query starts. NULL for a literal.
    struct fw_promql_expr *range_expr, *offset_expr, *step_expr; // owned
    bool anchored, smoothed; // SELECTOR: Prometheus 3's experimental range modifiers
    fw_pq_at_t at;           // SELECTOR and SUBQUERY: the @ modifier
    int64_t at_ms;           // FW_PQ_AT_TIME: the time in milliseconds

    // CALL
    fw_pq_func_t func;
    const char *func_name; // borrowed literal

    // AGG and BINARY: grouping / matching labels
    char **labels; // owned
    size_t n_labels;
    bool without; // AGG: without (...) instead of by (...)
    fw_pq_aggop_t agg;
    struct fw_promql_expr *param; // owned; AGG: the parameter of topk, quantile, count_values...

    // BINARY
    fw_pq_binop_t op;
    bool return_bool;
    bool on;           // matching labels are on(...) rather than ignoring(...)
    bool has_matching; // on(...) or ignoring(...) was written
    fw_pq_card_t card;
    char **include; // owned; group_left(...) / group_right(...) labels
    size_t n_include;
    bool fill_l, fill_r;     // fill_left(v) / fill_right(v) (fill(v) sets both)
    double fill_lv, fill_rv; // the fill values

    // children: CALL args; AGG args[0]; BINARY args[0] lhs, args[1] rhs; NEG/PAREN/SUBQUERY
    // args[0]
    struct fw_promql_expr **args; // owned
    size_t n_args;

    // Worked out by the evaluator when a query starts (as range_ms from range_expr): the
    // node is the top of a step-invariant subtree (its value is the same at every step,
    // through @ modifiers), which a query evaluates once (Prometheus's StepInvariantExpr).
    bool step_invariant;
};

// Name of a binary operator / aggregation as written in PromQL ("+", "and", "sum").
const char *fw_promql_binop_str(fw_pq_binop_t op);
const char *fw_promql_aggop_str(fw_pq_aggop_t op);
bool fw_promql_binop_is_comparison(fw_pq_binop_t op);
bool fw_promql_binop_is_set(fw_pq_binop_t op);
// The value in seconds of a duration expression (range_expr, offset_expr, step_expr) for a
// query whose step() and range() are step_s and range_s; NaN after a division by zero.
double fw_promql_duration_eval(const fw_promql_expr_t *d, double step_s, double range_s);
// Render the tree back as PromQL text (for logs and tests). The caller frees the result.
char *fw_promql_format(const fw_promql_expr_t *e);
// The n bytes at s (NUL bytes included) quoted as Go's strconv.Quote (and %q) does: control
// bytes and invalid UTF-8 escaped. Caller frees.
char *fw_promql_quote(const char *s, size_t n);
// The tree as Prometheus 3 prints it (its String(); fw_promql_pretty.c). Caller frees.
char *fw_promql_string(const fw_promql_expr_t *e);
// The tree as Prometheus 3's Prettify lays it out (/api/v1/format_query). Caller frees.
char *fw_promql_pretty(const fw_promql_expr_t *e);

#endif
