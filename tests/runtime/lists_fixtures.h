/* lists_fixtures.h - a hand-written test domain with records and lists,
 * laid out as aggc is to emit them (docs/runtime.md, "Records and lists"):
 *
 *   record Money   { amount: int; currency: string = "EUR"; }
 *   record Line    { sku: string; qty: int; price: Money;
 *                    tags: list<string>; note: string?; }
 *   record Address { city: string; zip: string?; }
 *   record Node    { name: string; kids: list<Node>; }      // recursive
 *   command Order  { lines: list<Line>; address: Address?; billing: Address;
 *                    colors: list<Color>; stamps: list<timestamp>;
 *                    maybe: list<int?>; scores: list<float>?;
 *                    flags: list<bool> (defaulted: may be absent);
 *                    tree: Node?; }
 *   command Ints   { xs: list<int>; }
 */
#ifndef LISTS_FIXTURES_H
#define LISTS_FIXTURES_H

#include <stdbool.h>
#include <stdint.h>

#include <incident/domain.h>

#include "fixtures.h"

typedef INC_LIST_STRUCT(char *) l_string_list;
typedef INC_LIST_STRUCT(int64_t) l_int_list;
typedef INC_LIST_STRUCT(double) l_float_list;
typedef INC_LIST_STRUCT(bool) l_bool_list;
typedef INC_LIST_STRUCT(inc_timestamp) l_timestamp_list;
typedef INC_LIST_STRUCT(t_color) l_color_list;

typedef struct l_money {
    int64_t amount;
    char *currency;
} l_money;

typedef struct l_line {
    char *sku;
    int64_t qty;
    l_money price;
    l_string_list tags;
    char *note;
    bool has_note;
} l_line;
typedef INC_LIST_STRUCT(l_line) l_line_list;

typedef struct l_address {
    char *city;
    char *zip;
    bool has_zip;
} l_address;

typedef struct l_node l_node;
typedef INC_LIST_STRUCT(l_node) l_node_list;
struct l_node {
    char *name;
    l_node_list kids;
};

typedef struct l_order {
    char *aggregate_id;
    l_line_list lines;
    l_address address;
    bool has_address;
    l_address billing;
    l_color_list colors;
    l_timestamp_list stamps;
    l_int_list maybe;
    l_float_list scores;
    bool has_scores;
    l_bool_list flags;
    l_node tree;
    bool has_tree;
} l_order;

typedef struct l_ints {
    char *aggregate_id;
    l_int_list xs;
} l_ints;

extern const inc_message_desc l_money_desc, l_line_desc, l_address_desc,
    l_node_desc, l_order_desc, l_ints_desc;
/* type descriptors other test domains reuse */
extern const inc_type_desc l_address_type, l_line_list_type,
    l_opt_int_list_type;

#endif
