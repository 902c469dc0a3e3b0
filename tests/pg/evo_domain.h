/* evo_domain.h - two versions of one small domain, "evo", for the schema
 * evolution suite (test_evolution.c): what aggc emits for a domain before
 * and after a change, written by hand so the runtime half is tested on its
 * own.  Aggregate Book, same state layout in both versions:
 *
 *   version 1                          version 2
 *   BookAdded {title}                  BookAdded {title; shelf = "A";
 *                                                 subtitle?}  (added fields)
 *   CopiesAdded {count; note?}         CopiesAdded {copies; note?}, schema 2,
 *                                        upcast 1 {count; note?}
 *   MemberJoined {name}                MemberRegistered was MemberJoined
 *   projection evo_books:              projection evo_books:
 *     title?, copies, legacy text,       title?, copies, members bigint
 *     kind text                          (added), kind bigint (retyped),
 *                                        legacy dropped
 *   projection evo_sizes:              projection evo_sizes:
 *     size Size {small, large}           size Size {small, large, huge}
 *
 * Commands in both: AddBook {title} (v2: shelf = "A"), AddCopies {count},
 * Join {name}. */
#ifndef EVO_DOMAIN_H
#define EVO_DOMAIN_H

#include <stdbool.h>
#include <stdint.h>

#include <incident/domain.h>

typedef struct evo_state {
    char *aggregate_id;
    int64_t version;
    inc_timestamp updated_at;
    bool has_updated_at;
    char *title;
    bool has_title;
    int64_t copies;
    int64_t members;
    char *last_member;
    bool has_last_member;
} evo_state;

typedef struct evo_book_added {
    char *aggregate_id;
    char *title;
    char *shelf;    /* v2 */
    char *subtitle; /* v2 */
    bool has_subtitle;
} evo_book_added;

typedef struct evo_copies1 { /* CopiesAdded as version 1 wrote it */
    char *aggregate_id;
    int64_t count;
    char *note;
    bool has_note;
} evo_copies1;

typedef struct evo_copies2 {
    char *aggregate_id;
    int64_t copies;
    char *note;
    bool has_note;
} evo_copies2;

typedef struct evo_member {
    char *aggregate_id;
    char *name;
} evo_member;

typedef struct evo_cmd {
    char *aggregate_id;
    char *title;
    char *shelf; /* v2 */
    int64_t count;
    char *name;
} evo_cmd;

typedef struct evo_row1 {
    char *aggregate_id;
    char *title;
    bool has_title;
    int64_t copies;
    char *legacy;
    char *kind;
} evo_row1;

typedef struct evo_row2 {
    char *aggregate_id;
    char *title;
    bool has_title;
    int64_t copies;
    int64_t members;
    int64_t kind;
} evo_row2;

typedef struct evo_size_row { /* evo_sizes: size, an enum that gains a member */
    char *aggregate_id;
    int size; /* 0 small, 1 large, 2 huge (v2) */
} evo_size_row;

extern const inc_domain evo_v1_domain, evo_v2_domain;
extern const inc_aggregate_desc evo_v1_book, evo_v2_book;
extern const inc_message_desc evo_v1_state_desc, evo_v2_state_desc;
extern const inc_message_desc evo_v1_add_book, evo_v1_add_copies, evo_v1_join;
extern const inc_message_desc evo_v2_add_book, evo_v2_add_copies, evo_v2_join;
extern const inc_message_desc evo_v1_book_added, evo_v1_copies_added,
    evo_v1_member_joined;
extern const inc_message_desc evo_v2_book_added, evo_v2_copies_added,
    evo_v2_member_registered;
extern const inc_projection_desc evo_v1_books, evo_v2_books;
extern const inc_projection_desc evo_v1_sizes, evo_v2_sizes;

#endif
