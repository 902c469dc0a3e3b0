/* lists_fixtures.c - descriptor tables of the records-and-lists test
 * domain (lists_fixtures.h), written by hand the way aggc is to emit them:
 * one inc_type_desc per record type and per list type, referenced from the
 * fields with INC_TYPE_REF. */
#include "desc_macros.h"
#include "lists_fixtures.h"

#define RECORD(c, name, fields)                                           \
    const inc_message_desc c##_desc = {INC_MSG_RECORD, name, #c,          \
                                       sizeof(c), COUNT(fields), fields,  \
                                       NULL, NULL, NULL, NULL, NOEVO}

/* ---- type descriptors ---- */
static const inc_type_desc money_type = {
    {"Money", 0, NULL}, INC_TYPE_RECORD, INC_TYPE_RECORD, 0, NULL,
    &l_money_desc};
const inc_type_desc l_address_type = {
    {"Address", 0, NULL}, INC_TYPE_RECORD, INC_TYPE_RECORD, 0, NULL,
    &l_address_desc};
static const inc_type_desc node_type = {
    {"Node", 0, NULL}, INC_TYPE_RECORD, INC_TYPE_RECORD, 0, NULL,
    &l_node_desc};
static const inc_type_desc string_list = {
    {"list<string>", 0, NULL}, INC_TYPE_LIST, INC_TYPE_STRING, 0, NULL, NULL};
const inc_type_desc l_line_list_type = {
    {"list<Line>", 0, NULL}, INC_TYPE_LIST, INC_TYPE_RECORD, 0, NULL,
    &l_line_desc};
static const inc_type_desc node_list = {
    {"list<Node>", 0, NULL}, INC_TYPE_LIST, INC_TYPE_RECORD, 0, NULL,
    &l_node_desc};
static const inc_type_desc color_list = {
    {"list<Color>", 0, NULL}, INC_TYPE_LIST, INC_TYPE_ENUM, 0, &t_color_enum,
    NULL};
static const inc_type_desc timestamp_list = {
    {"list<timestamp>", 0, NULL}, INC_TYPE_LIST, INC_TYPE_TIMESTAMP, 0, NULL,
    NULL};
const inc_type_desc l_opt_int_list_type = {
    {"list<int?>", 0, NULL}, INC_TYPE_LIST, INC_TYPE_INT, OPT, NULL, NULL};
static const inc_type_desc int_list = {
    {"list<int>", 0, NULL}, INC_TYPE_LIST, INC_TYPE_INT, 0, NULL, NULL};
static const inc_type_desc float_list = {
    {"list<float>", 0, NULL}, INC_TYPE_LIST, INC_TYPE_FLOAT, 0, NULL, NULL};
static const inc_type_desc bool_list = {
    {"list<bool>", 0, NULL}, INC_TYPE_LIST, INC_TYPE_BOOL, 0, NULL, NULL};

/* ---- records ---- */
static const inc_field_desc money_fields[] = {
    F(l_money, amount, INC_TYPE_INT, 0, NOHAS, NULL, NODEF),
    F(l_money, currency, INC_TYPE_STRING, INC_FIELD_DEFAULTED, NOHAS, NULL,
      DEFV(true, 0, 0.0, "EUR")),
};
RECORD(l_money, "Money", money_fields);

static const inc_field_desc line_fields[] = {
    F(l_line, sku, INC_TYPE_STRING, 0, NOHAS, NULL, NODEF),
    F(l_line, qty, INC_TYPE_INT, 0, NOHAS, NULL, NODEF),
    F(l_line, price, INC_TYPE_RECORD, 0, NOHAS, INC_TYPE_REF(money_type),
      NODEF),
    F(l_line, tags, INC_TYPE_LIST, 0, NOHAS, INC_TYPE_REF(string_list),
      NODEF),
    F(l_line, note, INC_TYPE_STRING, OPT, HAS(l_line, note), NULL, NODEF),
};
RECORD(l_line, "Line", line_fields);

static const inc_field_desc address_fields[] = {
    F(l_address, city, INC_TYPE_STRING, 0, NOHAS, NULL, NODEF),
    F(l_address, zip, INC_TYPE_STRING, OPT, HAS(l_address, zip), NULL, NODEF),
};
RECORD(l_address, "Address", address_fields);

static const inc_field_desc node_fields[] = {
    F(l_node, name, INC_TYPE_STRING, 0, NOHAS, NULL, NODEF),
    F(l_node, kids, INC_TYPE_LIST, 0, NOHAS, INC_TYPE_REF(node_list), NODEF),
};
RECORD(l_node, "Node", node_fields);

/* ---- commands ---- */
static const inc_field_desc order_fields[] = {
    F(l_order, aggregate_id, INC_TYPE_STRING, INC_FIELD_IMPLICIT, NOHAS, NULL,
      NODEF),
    F(l_order, lines, INC_TYPE_LIST, 0, NOHAS,
      INC_TYPE_REF(l_line_list_type), NODEF),
    F(l_order, address, INC_TYPE_RECORD, OPT, HAS(l_order, address),
      INC_TYPE_REF(l_address_type), NODEF),
    F(l_order, billing, INC_TYPE_RECORD, 0, NOHAS,
      INC_TYPE_REF(l_address_type), NODEF),
    F(l_order, colors, INC_TYPE_LIST, 0, NOHAS, INC_TYPE_REF(color_list),
      NODEF),
    F(l_order, stamps, INC_TYPE_LIST, 0, NOHAS, INC_TYPE_REF(timestamp_list),
      NODEF),
    F(l_order, maybe, INC_TYPE_LIST, 0, NOHAS,
      INC_TYPE_REF(l_opt_int_list_type), NODEF),
    F(l_order, scores, INC_TYPE_LIST, OPT, HAS(l_order, scores),
      INC_TYPE_REF(float_list), NODEF),
    F(l_order, flags, INC_TYPE_LIST, INC_FIELD_DEFAULTED, NOHAS,
      INC_TYPE_REF(bool_list), NODEF),
    F(l_order, tree, INC_TYPE_RECORD, OPT, HAS(l_order, tree),
      INC_TYPE_REF(node_type), NODEF),
};
const inc_message_desc l_order_desc = {
    INC_MSG_COMMAND, "Order", "l_order", sizeof(l_order),
    COUNT(order_fields), order_fields, NULL, NULL, NULL, NULL, NOEVO};

static const inc_field_desc ints_fields[] = {
    F(l_ints, aggregate_id, INC_TYPE_STRING, INC_FIELD_IMPLICIT, NOHAS, NULL,
      NODEF),
    F(l_ints, xs, INC_TYPE_LIST, 0, NOHAS, INC_TYPE_REF(int_list), NODEF),
};
const inc_message_desc l_ints_desc = {
    INC_MSG_COMMAND, "Ints", "l_ints", sizeof(l_ints),
    COUNT(ints_fields), ints_fields, NULL, NULL, NULL, NULL, NOEVO};
