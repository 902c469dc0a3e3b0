/* store.c - the public wrappers over the inc_store vtable, so callers never
 * reach into `ops` and a NULL store is a clean error, not a crash. */
#include <incident/store.h>

#define CHECK_STORE(s, err)                                                    \
    do {                                                                       \
        if (!(s) || !(s)->ops)                                                 \
            return inc_error_set((err), INC_ERR_INTERNAL, "no_store",         \
                                 "no store");                                  \
    } while (0)

void inc_store_close(inc_store *s) {
    if (s && s->ops && s->ops->close) s->ops->close(s);
}

int inc_store_init(inc_store *s, const inc_domain *d, inc_error *err) {
    CHECK_STORE(s, err);
    return s->ops->init(s, d, err);
}

int inc_store_init_report(inc_store *s, const inc_domain *d,
                          inc_table_change_cb cb, void *ud, inc_error *err) {
    CHECK_STORE(s, err);
    if (!s->ops->init_report) return s->ops->init(s, d, err);
    return s->ops->init_report(s, d, cb, ud, err);
}

int inc_store_load(inc_store *s, const inc_aggregate_desc *a, const char *id,
                   unsigned flags, const inc_load_cbs *cbs, inc_error *err) {
    CHECK_STORE(s, err);
    return s->ops->load(s, a, id, flags, cbs, err);
}

int inc_store_commit(inc_store *s, const inc_commit *c, inc_error *err) {
    CHECK_STORE(s, err);
    return s->ops->commit(s, c, err);
}

int inc_store_read_stream(inc_store *s, const char *aggregate_type,
                          const char *id, int64_t after_version,
                          inc_event_cb cb, void *ud, inc_error *err) {
    CHECK_STORE(s, err);
    return s->ops->read_stream(s, aggregate_type, id, after_version, cb, ud,
                               err);
}

int inc_store_read_all(inc_store *s, const char *aggregate_type,
                       int64_t after_position, inc_event_cb cb, void *ud,
                       inc_error *err) {
    CHECK_STORE(s, err);
    return s->ops->read_all(s, aggregate_type, after_position, cb, ud, err);
}

int inc_store_projection_get(inc_store *s, const inc_projection_desc *p,
                             const char *id, inc_row_cb cb, void *ud,
                             bool *found, inc_error *err) {
    CHECK_STORE(s, err);
    return s->ops->projection_get(s, p, id, cb, ud, found, err);
}

int inc_store_projection_list(inc_store *s, const inc_projection_desc *p,
                              inc_row_cb cb, void *ud, inc_error *err) {
    CHECK_STORE(s, err);
    return s->ops->projection_list(s, p, cb, ud, err);
}

int inc_store_rebuild(inc_store *s, const inc_projection_desc *p,
                      const inc_rebuild_cbs *cbs, inc_error *err) {
    CHECK_STORE(s, err);
    return s->ops->rebuild(s, p, cbs, err);
}

int inc_store_commit_many(inc_store *s, const inc_commit *commits, size_t n,
                          size_t *failed, inc_error *err) {
    CHECK_STORE(s, err);
    if (failed) *failed = n;
    if (!s->ops->commit_many)
        return inc_error_set(err, INC_ERR_INTERNAL, "unsupported",
                             "the %s store cannot commit several commits "
                             "in one transaction",
                             s->ops->name);
    return s->ops->commit_many(s, commits, n, failed, err);
}

int inc_store_load_many(inc_store *s, inc_load_req *reqs, size_t n,
                        inc_error *err) {
    CHECK_STORE(s, err);
    if (s->ops->load_many) return s->ops->load_many(s, reqs, n, err);
    for (size_t i = 0; i < n; i++) {
        inc_load_req *r = &reqs[i];
        inc_error_clear(&r->error);
        r->rc = (r->flags & INC_LOAD_AFTER)
                    ? s->ops->read_stream(s, r->aggregate->name,
                                          r->aggregate_id, r->after_version,
                                          r->cbs.event, r->cbs.ud, &r->error)
                    : s->ops->load(s, r->aggregate, r->aggregate_id, r->flags,
                                   &r->cbs, &r->error);
        if (r->rc != 0 && r->error.kind == INC_ERR_UNAVAILABLE) {
            if (err) *err = r->error;
            return -1;
        }
    }
    return 0;
}

int inc_store_command_get_in(inc_store *s, const char *aggregate_id,
                             const char *command_id, inc_command_cb cb,
                             void *ud, bool *found, inc_error *err) {
    CHECK_STORE(s, err);
    if (!s->ops->command_get_in || !aggregate_id)
        return inc_store_command_get(s, command_id, cb, ud, found, err);
    if (found) *found = false;
    bool ignored;
    return s->ops->command_get_in(s, aggregate_id, command_id, cb, ud,
                                  found ? found : &ignored, err);
}

int inc_store_command_get(inc_store *s, const char *command_id,
                          inc_command_cb cb, void *ud, bool *found,
                          inc_error *err) {
    CHECK_STORE(s, err);
    if (found) *found = false;
    if (!s->ops->command_get)
        return inc_error_set(err, INC_ERR_INTERNAL, "unsupported",
                             "the %s store keeps no command ids", s->ops->name);
    bool ignored;
    return s->ops->command_get(s, command_id, cb, ud, found ? found : &ignored,
                               err);
}

int inc_store_prune_command_ids(inc_store *s, inc_timestamp older_than,
                                int64_t *n_pruned, inc_error *err) {
    CHECK_STORE(s, err);
    if (n_pruned) *n_pruned = 0;
    if (!s->ops->prune_command_ids)
        return inc_error_set(err, INC_ERR_INTERNAL, "unsupported",
                             "the %s store keeps no command ids", s->ops->name);
    return s->ops->prune_command_ids(s, older_than, n_pruned, err);
}
