/* SPDX-License-Identifier: Apache-2.0 */
/* The integration-test harness: processes by PID, HTTP with libcurl, bounded polling. */
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

static int wait_exit(pid_t pid, int timeout_ms)
{
    long long end = harness_mono_ms() + timeout_ms;
    int st = 0;
    while (harness_mono_ms() < end) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        if (r < 0)
            return -1;
        harness_sleep_ms(10);
    }
    return -2;
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

/* Waits until path exists (and, for a regular file, is not empty). */
static int wait_for_file(const char *path, int timeout_ms)
{
    long long end = harness_mono_ms() + timeout_ms;
    struct stat st;
    while (harness_mono_ms() < end) {
        if (stat(path, &st) == 0 && (!S_ISREG(st.st_mode) || st.st_size > 0))
            return 0;
        harness_sleep_ms(20);
    }
    return -1;
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

int harness_http(const char *method, const char *url, const char *const *headers, const char *body,
                 size_t len, struct harness_response *out)
{
    memset(out, 0, sizeof(*out));
    out->body = calloc(1, 1);
    CURL *c = curl_easy_init();
    struct curl_slist *hl = NULL;
    for (size_t i = 0; headers && headers[i]; i++)
        hl = curl_slist_append(hl, headers[i]);
    hl = curl_slist_append(hl, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 20000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    return rc == CURLE_OK ? 0 : -1;
}

void harness_response_free(struct harness_response *r)
{
    free(r->body);
    memset(r, 0, sizeof(*r));
}
