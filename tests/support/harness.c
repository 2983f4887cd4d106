/* SPDX-License-Identifier: Apache-2.0 */
/* The integration-test harness: processes by PID, HTTP with libcurl, bounded polling, a real
 * nginx in front (deploy/nginx/) and raw TLS connections to it. */
#include "harness.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

long long harness_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void harness_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

#define WAIT_STEP_MS 20

int harness_wait_until(harness_cond_fn cond, void *ud, int timeout_ms)
{
    long long end = harness_mono_ms() + timeout_ms;
    for (;;) {
        if (cond(ud))
            return 0;
        if (harness_mono_ms() >= end)
            return cond(ud) ? 0 : -1;
        harness_sleep_ms(WAIT_STEP_MS);
    }
}

pid_t harness_spawn(char *const argv[], const char *log_path)
{
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    int fd = open(log_path ? log_path : "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
        close(fd);
    }
    int null = open("/dev/null", O_RDONLY);
    if (null >= 0)
        dup2(null, 0);
    execvp(argv[0], argv);
    _exit(127);
}

struct exit_wait {
    pid_t pid;
    int rc; /* -2 while running */
};

static int has_exited(void *ud)
{
    struct exit_wait *x = ud;
    int st = 0;
    if (x->rc != -2)
        return 1;
    pid_t r = waitpid(x->pid, &st, WNOHANG);
    if (r == x->pid)
        x->rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    else if (r < 0)
        x->rc = -1;
    return x->rc != -2;
}

static int wait_exit(pid_t pid, int timeout_ms)
{
    struct exit_wait x = {pid, -2};
    harness_wait_until(has_exited, &x, timeout_ms);
    return x.rc;
}

int harness_stop(pid_t pid, int sig, int timeout_ms)
{
    if (pid <= 0)
        return -1;
    kill(pid, sig);
    int rc = wait_exit(pid, timeout_ms);
    if (rc == -2) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return -1;
    }
    return rc;
}

int harness_run(char *const argv[], const char *log_path, int timeout_ms)
{
    pid_t pid = harness_spawn(argv, log_path);
    if (pid < 0)
        return -1;
    int rc = wait_exit(pid, timeout_ms);
    if (rc == -2) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return -1;
    }
    return rc;
}

int harness_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return ntohs(a.sin_port);
}

char *harness_tmpdir(const char *tag)
{
    char tmpl[256];
    snprintf(tmpl, sizeof(tmpl), "/tmp/suara-%s-XXXXXX", tag);
    char *d = mkdtemp(tmpl);
    return d ? strdup(d) : NULL;
}

void harness_rmdir(const char *path)
{
    if (!path || strncmp(path, "/tmp/suara-", 11) != 0)
        return;
    char *argv[] = {"rm", "-rf", (char *)path, NULL};
    harness_run(argv, NULL, 10000);
}

static int file_present(void *ud)
{
    struct stat st;
    return stat(ud, &st) == 0 && (!S_ISREG(st.st_mode) || st.st_size > 0);
}

/* Waits until path exists (and, for a regular file, is not empty). */
static int wait_for_file(const char *path, int timeout_ms)
{
    return harness_wait_until(file_present, (void *)path, timeout_ms);
}

pid_t harness_redis_start(const char *dir)
{
    char sock[512], log[512];
    snprintf(sock, sizeof(sock), "%s/redis.sock", dir);
    snprintf(log, sizeof(log), "%s/redis.log", dir);
    unlink(sock);
    char *argv[] = {"redis-server",
                    "--port",
                    "0",
                    "--unixsocket",
                    sock,
                    "--unixsocketperm",
                    "700",
                    "--dir",
                    (char *)dir,
                    "--appendonly",
                    "yes",
                    "--appendfsync",
                    "everysec",
                    "--no-appendfsync-on-rewrite",
                    "no",
                    "--maxmemory-policy",
                    "noeviction",
                    "--save",
                    "",
                    "--daemonize",
                    "no",
                    NULL};
    pid_t pid = harness_spawn(argv, log);
    if (pid > 0 && wait_for_file(sock, 10000) < 0) {
        harness_stop(pid, SIGTERM, 2000);
        return -1;
    }
    return pid;
}

pid_t harness_mock_start(const char *dir, int *port)
{
    char script[512], port_file[512], log[512];
    snprintf(script, sizeof(script), "%s/tests/support/mock_provider.py", SUARA_SOURCE_DIR);
    snprintf(port_file, sizeof(port_file), "%s/mock.port", dir);
    snprintf(log, sizeof(log), "%s/mock.log", dir);
    unlink(port_file);
    char *argv[] = {"python3", script, "--port", "0", "--port-file", port_file, NULL};
    pid_t pid = harness_spawn(argv, log);
    if (pid < 0 || wait_for_file(port_file, 10000) < 0) {
        harness_stop(pid, SIGTERM, 2000);
        return -1;
    }
    FILE *f = fopen(port_file, "r");
    if (!f || fscanf(f, "%d", port) != 1) {
        if (f)
            fclose(f);
        harness_stop(pid, SIGTERM, 2000);
        return -1;
    }
    fclose(f);
    return pid;
}

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
    struct harness_response *r = ud;
    size_t add = size * n;
    char *b = realloc(r->body, r->len + add + 1);
    if (!b)
        return 0;
    memcpy(b + r->len, p, add);
    r->body = b;
    r->len += add;
    r->body[r->len] = '\0';
    return add;
}

/* Feeds a chunked request body to libcurl from the request. */
struct body_reader {
    const char *p;
    size_t left;
};

static size_t feed_body(char *buf, size_t size, size_t n, void *ud)
{
    struct body_reader *b = ud;
    size_t k = size * n < b->left ? size * n : b->left;
    memcpy(buf, b->p, k);
    b->p += k;
    b->left -= k;
    return k;
}

static void set_body(CURL *c, const struct harness_request *q, struct body_reader *rd)
{
    if (!q->body)
        return;
    if (!q->chunked) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, q->body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q->len);
        return;
    }
    *rd = (struct body_reader){q->body, q->len};
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, feed_body);
    curl_easy_setopt(c, CURLOPT_READDATA, rd);
}

static void take_info(CURL *c, struct harness_response *out)
{
    long v = 0;
    char *ct = NULL;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    curl_easy_getinfo(c, CURLINFO_HTTP_VERSION, &v);
    out->http_version = v == CURL_HTTP_VERSION_2_0 ? 2 : 1;
    if (curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct)
        snprintf(out->content_type, sizeof(out->content_type), "%s", ct);
}

int harness_http_req(const struct harness_request *q, struct harness_response *out)
{
    memset(out, 0, sizeof(*out));
    out->body = calloc(1, 1);
    CURL *c = curl_easy_init();
    struct curl_slist *hl = NULL;
    struct body_reader rd;
    char iface[64];
    for (size_t i = 0; q->headers && q->headers[i]; i++)
        hl = curl_slist_append(hl, q->headers[i]);
    hl = curl_slist_append(hl, "Expect:");
    if (q->chunked)
        hl = curl_slist_append(hl, "Transfer-Encoding: chunked");
    curl_easy_setopt(c, CURLOPT_URL, q->url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, q->method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 20000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_HTTP_VERSION,
                     q->http2 ? (long)CURL_HTTP_VERSION_2TLS : (long)CURL_HTTP_VERSION_1_1);
    if (q->insecure) {
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (q->local_addr) {
        snprintf(iface, sizeof(iface), "host!%s", q->local_addr);
        curl_easy_setopt(c, CURLOPT_INTERFACE, iface);
    }
    set_body(c, q, &rd);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    CURLcode rc = curl_easy_perform(c);
    take_info(c, out);
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    return rc == CURLE_OK ? 0 : -1;
}

int harness_http(const char *method, const char *url, const char *const *headers, const char *body,
                 size_t len, struct harness_response *out)
{
    struct harness_request q = {
        .method = method, .url = url, .headers = headers, .body = body, .len = len};
    return harness_http_req(&q, out);
}

void harness_response_free(struct harness_response *r)
{
    free(r->body);
    memset(r, 0, sizeof(*r));
}

/* ---- nginx in front ---- */

/* Debian's nginx is in /usr/sbin, which a non-login PATH may lack: try it first. */
static char *nginx_bin(void)
{
    return access("/usr/sbin/nginx", X_OK) == 0 ? "/usr/sbin/nginx" : "nginx";
}

int harness_nginx_available(void)
{
    char *argv[] = {nginx_bin(), "-v", NULL};
    return harness_run(argv, NULL, 10000) == 0;
}

/* A throw-away self-signed certificate for 127.0.0.1 / localhost (P-256: quick to make). */
static int make_certificate(const char *dir)
{
    char key[600], cert[600], log[600];
    snprintf(key, sizeof(key), "%s/key.pem", dir);
    snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
    snprintf(log, sizeof(log), "%s/openssl.log", dir);
    char *argv[] = {"openssl",
                    "req",
                    "-x509",
                    "-newkey",
                    "ec",
                    "-pkeyopt",
                    "ec_paramgen_curve:prime256v1",
                    "-nodes",
                    "-keyout",
                    key,
                    "-out",
                    cert,
                    "-days",
                    "2",
                    "-subj",
                    "/CN=localhost",
                    "-addext",
                    "subjectAltName=DNS:localhost,IP:127.0.0.1",
                    NULL};
    return harness_run(argv, log, 30000) == 0 ? 0 : -1;
}

/* deploy/nginx/render.sh with test values into dir/suara.conf. */
static int render_site(const struct harness_nginx *n, int upstream_port)
{
    char script[600], out[600], log[600], tls[64], http[64], cert[600], key[600], up[64],
        logdir[600];
    snprintf(script, sizeof(script), "%s/deploy/nginx/render.sh", SUARA_SOURCE_DIR);
    snprintf(out, sizeof(out), "%s/suara.conf", n->dir);
    snprintf(log, sizeof(log), "%s/render.log", n->dir);
    snprintf(tls, sizeof(tls), "TLS_LISTEN=127.0.0.1:%d", n->tls_port);
    snprintf(http, sizeof(http), "HTTP_LISTEN=127.0.0.1:%d", n->http_port);
    snprintf(cert, sizeof(cert), "CERT=%s/cert.pem", n->dir);
    snprintf(key, sizeof(key), "CERT_KEY=%s/key.pem", n->dir);
    snprintf(up, sizeof(up), "UPSTREAM=127.0.0.1:%d", upstream_port);
    snprintf(logdir, sizeof(logdir), "LOG_DIR=%s", n->dir);
    char *argv[] = {"sh", script, "-o",   out, "SERVER_NAME=localhost", tls, http, cert,
                    key,  up,     logdir, NULL};
    return harness_run(argv, log, 30000) == 0 ? 0 : -1;
}

/* The main context around the site: pid, logs and every temp path inside dir. As root the
 * workers stay root so they can use dir (0700); otherwise "user" would only be warned about. */
static int write_main_conf(const struct harness_nginx *n)
{
    char path[600];
    snprintf(path, sizeof(path), "%s/nginx.conf", n->dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    const char *d = n->dir;
    fprintf(f,
            "%sworker_processes 1;\npid %s/nginx.pid;\nerror_log %s/error.log info;\n"
            "events { worker_connections 512; }\n"
            "http {\n    client_body_temp_path %s/body;\n    proxy_temp_path %s/proxy;\n"
            "    fastcgi_temp_path %s/fastcgi;\n    uwsgi_temp_path %s/uwsgi;\n"
            "    scgi_temp_path %s/scgi;\n    include %s/suara.conf;\n}\n",
            geteuid() == 0 ? "user root;\n" : "", d, d, d, d, d, d, d, d);
    return fclose(f) == 0 ? 0 : -1;
}

static int port_accepts(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

struct nginx_wait {
    const struct harness_nginx *n;
    int exited;
};

static int nginx_up_or_gone(void *ud)
{
    struct nginx_wait *x = ud;
    if (waitpid(x->n->pid, NULL, WNOHANG) != 0)
        x->exited = 1; /* exited: bad config or a port taken */
    return x->exited || port_accepts(x->n->tls_port);
}

static int wait_nginx(const struct harness_nginx *n, int timeout_ms)
{
    struct nginx_wait x = {n, 0};
    return harness_wait_until(nginx_up_or_gone, &x, timeout_ms) == 0 && !x.exited ? 0 : -1;
}

int harness_nginx_start(struct harness_nginx *n, const char *dir, int upstream_port)
{
    memset(n, 0, sizeof(*n));
    snprintf(n->dir, sizeof(n->dir), "%s", dir);
    n->tls_port = harness_free_port();
    n->http_port = harness_free_port();
    if (n->tls_port < 0 || n->http_port < 0 || make_certificate(dir) < 0 ||
        render_site(n, upstream_port) < 0 || write_main_conf(n) < 0)
        return -1;
    char conf[600], err[600], log[600];
    snprintf(conf, sizeof(conf), "%s/nginx.conf", dir);
    snprintf(err, sizeof(err), "%s/error.log", dir);
    snprintf(log, sizeof(log), "%s/nginx.out", dir);
    char *argv[] = {nginx_bin(), "-p", (char *)dir, "-c",          conf,
                    "-e",        err,  "-g",        "daemon off;", NULL};
    n->pid = harness_spawn(argv, log);
    if (n->pid > 0 && wait_nginx(n, 15000) == 0)
        return 0;
    harness_nginx_stop(n);
    return -1;
}

int harness_nginx_stop(struct harness_nginx *n)
{
    int rc = n->pid > 0 ? harness_stop(n->pid, SIGTERM, 10000) : 0;
    n->pid = 0;
    return rc;
}

int harness_capture_cli(int (*fn)(const void *ctx, int argc, char **argv), const void *ctx,
                        char **argv, char **out)
{
    int argc = 0;
    while (argv[argc])
        argc++;
    *out = NULL;
    FILE *tmp = tmpfile();
    if (!tmp)
        return fn(ctx, argc, argv);
    fflush(stdout);
    int saved = dup(STDOUT_FILENO);
    int redirected = saved >= 0 && dup2(fileno(tmp), STDOUT_FILENO) >= 0;
    int rc = fn(ctx, argc, argv);
    fflush(stdout);
    if (redirected)
        dup2(saved, STDOUT_FILENO);
    if (saved >= 0)
        close(saved);
    off_t n = lseek(fileno(tmp), 0, SEEK_END);
    if (redirected && n >= 0) {
        *out = calloc(1, (size_t)n + 1);
        if (*out && pread(fileno(tmp), *out, (size_t)n, 0) != (ssize_t)n) {
            free(*out);
            *out = NULL;
        }
    }
    fclose(tmp);
    return rc;
}
