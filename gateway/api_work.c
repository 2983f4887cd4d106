/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The API's work on the libuv thread pool: verify the bearer token (store/tokens.c), check the
 * role and scope against the route and the registry, run the statistics query (store/stats.h,
 * rendered by stats_render.c) or record a visit, and audit it — each pool thread with its own
 * SQLite connections. The answer is built here and set on the request back on the loop
 * (after_work).
 */
#include "api_int.h"

#include "evalstore.h"
#include "outbox_admin.h"
#include "sr_log.h"
#include "sr_mem.h"
#include "stats.h"
#include "stats_render.h"
#include "tokens.h"
#include "trust.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct job {
    uv_work_t work;
    struct gw_request *r; /* held */
    const struct api_route *rt;
    struct app *app;
    char *token, *query, *body, *idem;
    char ticket[API_PARAM_MAX]; /* or a dead letter's id */
    int csv;
    int64_t now;
    /* the outcome */
    int auth_failed;
    int authed;
    enum sr_err err; /* SR_E_OK: status/body below */
    char detail[256];
    int status;
    char *resp, *ctype;
    size_t resp_len;
    struct tokens_info who;
    char *command; /* an officer command to run on the loop */
    int outbox;    /* a dead-letter operation to run on the loop */
};

/* Per pool thread: connections opened on first use, kept for the thread's life. */
static _Thread_local struct tokens *tl_tokens;
static _Thread_local struct stats *tl_stats;
static _Thread_local struct evalstore *tl_store;

static unsigned role_bit(enum tokens_role r)
{
    return r == TOKENS_ADMIN ? API_ADMIN : r == TOKENS_SUPERVISOR ? API_SUPERVISOR : API_OFFICER;
}

static enum sr_err fail(struct job *j, enum sr_err e, const char *detail)
{
    j->err = e;
    snprintf(j->detail, sizeof(j->detail), "%s", detail);
    return e;
}

static void answer(struct job *j, int status, const char *ctype, char *body, size_t len)
{
    j->err = SR_E_OK;
    j->status = status;
    j->ctype = sr_strdup(ctype);
    j->resp = body;
    j->resp_len = len;
}

/* ---------------------------------------------------------------- query string */

static int hexval(int c)
{
    return isdigit(c) ? c - '0' : isxdigit(c) ? (tolower(c) - 'a' + 10) : -1;
}

/* Decodes %XX and '+' in place. */
static void url_decode(char *s)
{
    char *o = s;
    for (; *s; s++) {
        if (*s == '%' && hexval((unsigned char)s[1]) >= 0 && hexval((unsigned char)s[2]) >= 0) {
            *o++ = (char)(hexval((unsigned char)s[1]) * 16 + hexval((unsigned char)s[2]));
            s += 2;
        } else {
            *o++ = *s == '+' ? ' ' : *s;
        }
    }
    *o = '\0';
}

/* Splits q (modified in place) into decoded name/value pairs. */
static void parse_query(char *q, struct stats_params *p)
{
    for (char *part = q; part && *part && p->n < STATS_MAX_PARAMS;) {
        char *amp = strchr(part, '&');
        if (amp)
            *amp = '\0';
        char *eq = strchr(part, '=');
        if (eq)
            *eq = '\0';
        url_decode(part);
        if (eq)
            url_decode(eq + 1);
        p->name[p->n] = part;
        p->value[p->n++] = eq ? eq + 1 : "";
        part = amp ? amp + 1 : NULL;
    }
}

/* ---------------------------------------------------------------- scope */

/* The officer's unit from the registry, or NULL. */
static const char *unit_of(const struct job *j, const char *officer)
{
    const struct sr_officer *o = evalstore_registry_lookup(j->app->registry, officer);
    return o ? o->unit_code : NULL;
}

/* Narrows f to what the token may see; SR_E_FORBIDDEN (detail set) when it asks for more. */
static enum sr_err scope(struct job *j, struct stats_filter *f)
{
    const struct tokens_info *who = &j->who;
    if (who->role == TOKENS_SUPERVISOR) {
        if (f->unit && strcasecmp(f->unit, who->unit) != 0)
            return fail(j, SR_E_FORBIDDEN, "a supervisor token reads its own unit only");
        const char *ou = f->officer ? unit_of(j, f->officer) : NULL;
        if (f->officer && (!ou || strcasecmp(ou, who->unit) != 0))
            return fail(j, SR_E_FORBIDDEN, "that officer is not of this supervisor's unit");
        f->unit = who->unit;
    } else if (who->role == TOKENS_OFFICER) {
        if (f->officer && strcasecmp(f->officer, who->officer) != 0)
            return fail(j, SR_E_FORBIDDEN, "an officer token reads its own complaints only");
        f->officer = who->officer;
    }
    return SR_E_OK;
}

/* ---------------------------------------------------------------- operations */

static enum sr_err query(struct job *j, const struct stats_filter *f, struct stats_result **res,
                         struct sr_errbuf *eb)
{
    if (!tl_stats && !(tl_stats = stats_open(j->app->cfg->store.sqlite_path, eb)))
        return SR_E_IO;
    enum stats_kind k = j->rt->op == API_OP_RESPONSE_TIMES ? STATS_RESPONSE_TIMES
                        : j->rt->op == API_OP_SATISFACTION ? STATS_SATISFACTION
                                                           : STATS_COMPLAINTS;
    return stats_query(tl_stats, k, f, j->now, res, eb);
}

/* The filter from the query string, narrowed to the token's scope; SR_E_OK or fail()ed. The
 * filter's strings point into q. */
static enum sr_err filter_of(struct job *j, char *q, struct stats_params *p, struct stats_filter *f)
{
    parse_query(q, p);
    const char *bad = stats_filter_parse(f, stats_params_get, p, j->now);
    if (bad) {
        char d[96];
        snprintf(d, sizeof(d), "query parameter \"%s\" is not valid", bad);
        return fail(j, SR_E_INVALID, d);
    }
    return scope(j, f);
}

static enum sr_err run_stats(struct job *j)
{
    char *q = sr_strdup(j->query);
    struct stats_params p = {0};
    struct stats_filter f;
    struct sr_errbuf eb = {{0}};
    struct stats_result *res = NULL;
    enum sr_err e = filter_of(j, q, &p, &f);
    if (e == SR_E_OK && (e = query(j, &f, &res, &eb)) != SR_E_OK)
        fail(j, e, eb.msg);
    free(q);
    if (e != SR_E_OK)
        return e;
    size_t len = 0;
    char *body;
    if (j->csv) {
        body = stats_render_csv_text(res, &len);
    } else {
        json_t *o = stats_render_json(res);
        body = json_dumps(o, JSON_COMPACT);
        len = strlen(body);
        json_decref(o);
    }
    answer(j, 200, j->csv ? "text/csv; charset=utf-8" : "application/json", body, len);
    stats_result_free(res);
    return SR_E_OK;
}

/* A required non-empty string member of the JSON body, or NULL. */
static const char *body_str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s && *s ? s : NULL;
}

/* The chat command an officer action stands for; run on the loop by webhook_officer_api. */
static enum sr_err officer_command(struct job *j)
{
    json_t *o = j->body && *j->body ? json_loads(j->body, 0, NULL) : NULL;
    const char *text = body_str(o, j->rt->op == API_OP_REPLY ? "text" : "note");
    if (j->body && *j->body && !json_is_object(o)) {
        json_decref(o);
        return fail(j, SR_E_INVALID, "the body must be a JSON object");
    }
    if (j->rt->op == API_OP_REPLY && !text) {
        json_decref(o);
        return fail(j, SR_E_INVALID, "body: \"text\" (the answer to the citizen) is required");
    }
    switch (j->rt->op) {
    case API_OP_OPEN:
        j->command = sr_strdup("DAFTAR");
        break;
    case API_OP_ACKNOWLEDGE:
        j->command = sr_asprintf("TERIMA %s", j->ticket);
        break;
    case API_OP_REPLY:
        j->command = sr_asprintf("BALAS %s %s", j->ticket, text);
        break;
    default:
        j->command = sr_asprintf("SELESAI %s%s%s", j->ticket, text ? " " : "", text ? text : "");
    }
    json_decref(o);
    j->err = SR_E_OK;
    j->status = 200;
    return SR_E_OK;
}

/* Digits of a phone number in international form ("+62 812-..." -> "62812..."); NULL if none. */
static char *digits_of(const char *s)
{
    char *d = sr_calloc(strlen(s) + 1, 1), *o = d;
    for (; *s; s++)
        if (isdigit((unsigned char)*s))
            *o++ = *s;
    if (o - d < 8) {
        free(d);
        return NULL;
    }
    return d;
}

static enum sr_err record_visit(struct job *j)
{
    json_t *o = json_loads(j->body ? j->body : "", 0, NULL);
    const char *officer = body_str(o, "officer"), *phone = body_str(o, "citizen");
    json_t *at = json_object_get(o, "at");
    enum sr_err e = SR_E_OK;
    char *digits = phone ? digits_of(phone) : NULL;
    if (j->who.role == TOKENS_OFFICER && !officer)
        officer = j->who.officer;
    if (!json_is_object(o) || !officer || !digits || (at && !json_is_integer(at)))
        e = fail(j, SR_E_INVALID,
                 "body: {\"officer\": code, \"citizen\": \"+62...\", \"at\": unix ms (optional)}");
    else if (j->who.role == TOKENS_OFFICER && strcasecmp(officer, j->who.officer) != 0)
        e = fail(j, SR_E_FORBIDDEN, "an officer records visits to themselves only");
    else if (!unit_of(j, officer))
        e = fail(j, SR_E_INVALID, "body: officer: no such officer");
    struct sr_errbuf eb = {{0}};
    if (e == SR_E_OK && !tl_store &&
        !(tl_store = evalstore_open_keyed(j->app->cfg->store.sqlite_path, EVALSTORE_WRITE,
                                          j->app->cfg->privacy.citizen_hash_key, &eb)))
        e = fail(j, SR_E_IO, eb.msg);
    if (e == SR_E_OK) {
        evalstore_set_rating_period(tl_store, j->app->cfg->dialog.rating_period_days);
        char citizen[65];
        app_citizen_hash(j->app, digits, citizen);
        int64_t when = at ? (int64_t)json_integer_value(at) : j->now;
        e = evalstore_record_visit(tl_store, officer, citizen, when, &eb);
        if (e != SR_E_OK)
            fail(j, e, eb.msg);
        else
            answer(j, 201, "application/json", sr_strdup("{\"recorded\":true}"), 17);
    }
    free(digits);
    json_decref(o);
    return e;
}

/* ---------------------------------------------------------------- the work */

static int authenticate(struct job *j)
{
    struct sr_errbuf eb = {{0}};
    if (!tl_tokens && !(tl_tokens = tokens_open(j->app->cfg->store.sqlite_path, &eb))) {
        fail(j, SR_E_UNAVAILABLE, "token store unavailable");
        return -1;
    }
    enum sr_err e = tokens_verify(tl_tokens, j->token, j->now, &j->who, &eb);
    if (e == SR_E_NOT_FOUND || e == SR_E_FORBIDDEN) {
        j->auth_failed = 1;
        fail(j, SR_E_UNAUTHORIZED,
             e == SR_E_FORBIDDEN ? "the token was revoked" : "unknown or malformed token");
        return -1;
    }
    if (e != SR_E_OK) {
        fail(j, SR_E_UNAVAILABLE, "token store unavailable");
        return -1;
    }
    j->authed = 1;
    return 0;
}

static void audit(struct job *j)
{
    char *detail = sr_asprintf("%s%s%s -> %d%s", j->r->path, *j->query ? "?" : "", j->query,
                               j->err == SR_E_OK ? j->status : sr_http_status(j->err),
                               j->command ? " (officer command)" : "");
    char action[64];
    snprintf(action, sizeof(action), "api %s", j->rt->method);
    tokens_audit(tl_tokens, j->now, j->who.id, action, detail, NULL);
    free(detail);
}

static void work(uv_work_t *req)
{
    struct job *j = req->data;
    if (authenticate(j) < 0)
        return;
    if (!(j->rt->roles & role_bit(j->who.role)))
        fail(j, SR_E_FORBIDDEN, "this token's role may not use this route");
    else if (j->rt->op == API_OP_VISIT)
        record_visit(j);
    else if (j->rt->op >= API_OP_DEAD_LIST)
        j->outbox = 1; /* Redis, on the loop */
    else if (j->rt->op >= API_OP_OPEN)
        officer_command(j);
    else
        run_stats(j);
    audit(j);
}

static void job_free(struct job *j)
{
    free(j->token);
    free(j->query);
    free(j->body);
    free(j->idem);
    free(j->resp);
    free(j->ctype);
    free(j->command);
    free(j);
}

static void after_work(uv_work_t *req, int status)
{
    struct job *j = req->data;
    struct gw_request *r = j->r;
    r->w->in_flight--;
    if (j->authed || j->auth_failed)
        trust_record(r, TRUST_API_TOKEN, j->auth_failed);
    if (status != 0)
        gw_respond_error(r, SR_E_UNAVAILABLE, "cancelled");
    else if (j->auth_failed)
        api_respond_unauthorized(r, j->detail);
    else if (j->err != SR_E_OK)
        gw_respond_error(r, j->err, j->detail);
    else if (j->command)
        webhook_officer_api(r, j->who.officer, j->command, j->idem);
    else if (j->outbox)
        outbox_admin_api(r,
                         j->rt->op == API_OP_DEAD_LIST    ? OUTBOX_ADMIN_LIST
                         : j->rt->op == API_OP_DEAD_RETRY ? OUTBOX_ADMIN_RETRY
                                                          : OUTBOX_ADMIN_DROP,
                         j->ticket);
    else
        gw_respond(r, j->status, j->ctype, j->resp, j->resp_len);
    gw_request_release(r);
    job_free(j);
}

void api_work_start(struct gw_request *r, const struct api_route *rt, const char *token,
                    const char *ticket, int csv, const char *idem_key)
{
    struct job *j = sr_calloc(1, sizeof(*j));
    j->work.data = j;
    j->r = r;
    j->rt = rt;
    j->app = r->w->app;
    j->token = sr_strdup(token);
    j->query = sr_strdup(r->query ? r->query : "");
    j->body = r->body ? sr_strndup((const char *)r->body, r->body_len) : NULL;
    j->idem = idem_key ? sr_strdup(idem_key) : NULL;
    snprintf(j->ticket, sizeof(j->ticket), "%s", ticket);
    j->csv = csv;
    j->now = app_domain_now(j->app);
    gw_request_hold(r);
    r->w->in_flight++;
    if (uv_queue_work(&r->w->loop, &j->work, work, after_work) != 0) {
        r->w->in_flight--;
        gw_respond_error(r, SR_E_UNAVAILABLE, "cannot queue the request");
        gw_request_release(r);
        job_free(j);
    }
}

/* ---------------------------------------------------------------- token use */

struct touch {
    uv_work_t work;
    struct worker *w;
    long long id;
    int64_t ms;
};

static void touch_work(uv_work_t *req)
{
    struct touch *t = req->data;
    struct sr_errbuf eb = {{0}};
    if (!tl_tokens && !(tl_tokens = tokens_open(t->w->app->cfg->store.sqlite_path, &eb)))
        return;
    tokens_touch(tl_tokens, t->id, t->ms, NULL); /* best effort: a busy database skips it */
}

static void touch_done(uv_work_t *req, int status)
{
    struct touch *t = req->data;
    (void)status;
    t->w->in_flight--;
    free(t);
}

void api_token_touch(struct worker *w, long long id, int64_t ms)
{
    struct touch *t = sr_calloc(1, sizeof(*t));
    *t = (struct touch){.w = w, .id = id, .ms = ms};
    t->work.data = t;
    w->in_flight++;
    if (uv_queue_work(&w->loop, &t->work, touch_work, touch_done) != 0) {
        w->in_flight--;
        free(t);
    }
}
