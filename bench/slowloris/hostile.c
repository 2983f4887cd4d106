/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The slowloris side of bench/slowloris/run.sh: tries to hold N connections to the gateway from
 * A loopback source addresses (127.0.0.2 ...), re-opening each one 100 ms after the server closes
 * it. The slots are a third each:
 *   idle    connect and send nothing;
 *   header  send "GET / HTTP/1.1\r\n", then one header byte every T seconds;
 *   body    send a complete POST head (Content-Length: 60000), then one body byte every T s.
 * One thread, poll() over every slot, 50 ms ticks; bounded by -d seconds. At the end it prints
 *   RESULT opened=.. closed_by_server=.. held_max=.. held_end=..
 * (held = connections the server had not closed, sampled each tick).
 * hostile -p PORT [-n 1000] [-a 16] [-t 3] [-d 30]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum mode { M_IDLE, M_HEADER, M_BODY };

struct slot {
    int fd;
    enum mode mode;
    int host;          /* 127.0.0.<host> */
    long long next_ms; /* next trickle byte, or the re-open time when fd < 0 */
};

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int port, trickle_ms = 3000;
static unsigned long long opened, closed_by_server;

static void send_quiet(int fd, const char *s, size_t n)
{
    (void)send(fd, s, n, MSG_NOSIGNAL | MSG_DONTWAIT);
}

static void slot_open(struct slot *s, long long now)
{
    static const char get[] = "GET / HTTP/1.1\r\n";
    static const char post[] = "POST /webhooks/wa HTTP/1.1\r\nHost: bench\r\n"
                               "Content-Type: application/json\r\nContent-Length: 60000\r\n\r\n";
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in src = {.sin_family = AF_INET,
                              .sin_addr.s_addr = htonl(0x7f000000u | (unsigned)s->host)};
    struct sockaddr_in dst = {.sin_family = AF_INET,
                              .sin_port = htons((uint16_t)port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (fd < 0 || bind(fd, (struct sockaddr *)&src, sizeof(src)) != 0 ||
        connect(fd, (struct sockaddr *)&dst, sizeof(dst)) != 0) {
        if (fd >= 0)
            close(fd);
        s->next_ms = now + 100;
        return;
    }
    fcntl(fd, F_SETFL, O_NONBLOCK);
    s->fd = fd;
    opened++;
    if (s->mode == M_HEADER)
        send_quiet(fd, get, sizeof(get) - 1);
    else if (s->mode == M_BODY)
        send_quiet(fd, post, sizeof(post) - 1);
    s->next_ms = now + trickle_ms;
}

/* Drains what the server sent; closes the slot when the server closed it. */
static void slot_read(struct slot *s, long long now)
{
    char buf[4096];
    ssize_t n;
    while ((n = recv(s->fd, buf, sizeof(buf), 0)) > 0)
        ;
    if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        close(s->fd);
        s->fd = -1;
        closed_by_server++;
        s->next_ms = now + 100;
    }
}

static void tick(struct slot *sl, struct pollfd *pf, int n, long long now)
{
    for (int i = 0; i < n; i++) {
        struct slot *s = &sl[i];
        if (s->fd >= 0 && (pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
            slot_read(s, now);
        if (s->fd < 0 && now >= s->next_ms)
            slot_open(s, now);
        else if (s->fd >= 0 && s->mode != M_IDLE && now >= s->next_ms) {
            send_quiet(s->fd, s->mode == M_HEADER ? "X" : "{", 1);
            s->next_ms = now + trickle_ms;
        }
    }
}

int main(int argc, char **argv)
{
    int n = 1000, addrs = 16, c;
    double duration_s = 30;
    while ((c = getopt(argc, argv, "p:n:a:t:d:")) != -1) {
        switch (c) {
        case 'p':
            port = atoi(optarg);
            break;
        case 'n':
            n = atoi(optarg);
            break;
        case 'a':
            addrs = atoi(optarg);
            break;
        case 't':
            trickle_ms = (int)(atof(optarg) * 1000);
            break;
        case 'd':
            duration_s = atof(optarg);
            break;
        default:
            goto usage;
        }
    }
    if (port <= 0 || n <= 0 || addrs <= 0 || addrs > 250)
        goto usage;
    struct slot *sl = calloc((size_t)n, sizeof(*sl));
    struct pollfd *pf = calloc((size_t)n, sizeof(*pf));
    for (int i = 0; i < n; i++)
        sl[i] = (struct slot){.fd = -1, .mode = (enum mode)(i % 3), .host = 2 + i % addrs};
    long long end = now_ms() + (long long)(duration_s * 1000);
    int held = 0, held_max = 0;
    for (long long now = now_ms(); now < end; now = now_ms()) {
        held = 0;
        for (int i = 0; i < n; i++) {
            pf[i] = (struct pollfd){.fd = sl[i].fd, .events = POLLIN};
            held += sl[i].fd >= 0;
        }
        held_max = held > held_max ? held : held_max;
        if (poll(pf, (nfds_t)n, 50) < 0 && errno != EINTR)
            break;
        tick(sl, pf, n, now_ms());
    }
    printf("RESULT opened=%llu closed_by_server=%llu held_max=%d held_end=%d\n", opened,
           closed_by_server, held_max, held);
    for (int i = 0; i < n; i++)
        if (sl[i].fd >= 0)
            close(sl[i].fd);
    free(sl);
    free(pf);
    return 0;
usage:
    fprintf(stderr, "usage: hostile -p PORT [-n conns] [-a addresses] [-t trickle_s] [-d s]\n");
    return 2;
}
