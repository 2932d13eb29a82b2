/* driver: time many spawns of several commands, interleaved call by call.
 *
 *   driver SPEC ROUNDS WARMUP
 *
 * SPEC is a file of NUL-terminated strings describing the cases, one after
 * the other:
 *
 *   CALLS CWD PROGRAM ARGC ARGV[0] ... ARGV[ARGC-1] ENVC ENV[0] ... ENV[ENVC-1]
 *
 * The driver runs WARMUP untimed rounds and then ROUNDS timed rounds. In
 * each round every case is spawned at most once, in a freshly shuffled
 * order (so no case always follows the same neighbour); a case with
 * CALLS < ROUNDS is spread evenly over the rounds. So noise from other work
 * on the machine, and whatever one call leaves behind for the next, falls
 * on all cases alike.
 *
 * One call is posix_spawn() (a vfork-style clone in glibc) + wait4() of
 * PROGRAM with the case's argv (argv[0] as a shell would pass it, e.g.
 * "python") and environment, in the case's working directory (fchdir'd to
 * before the clock starts). Only the spawn, the exec chain and the wait are
 * timed. The children's stdout and stderr go to /dev/null.
 *
 * Output: two lines per case: the per-call times in nanoseconds, then the
 * per-call minor page faults of the child (its whole exec chain, from the
 * rusage wait4() returns). A child that fails (exit status != 0, killed, or not spawnable) stops everything:
 * the driver prints "case N: ..." on stderr and exits 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct spec {
    long calls;
    int dirfd;
    const char *program;
    char **argv; /* NULL-terminated */
    char **envp; /* NULL-terminated */
    long done;
    long long *ns;
    long *faults;
};

static FILE *log_file;

static void die(const char *what)
{
    fprintf(log_file ? log_file : stderr, "driver: %s: %s\n", what, strerror(errno));
    exit(1);
}

static long long now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* The whole SPEC file, split at NULs: a cursor over its strings. */
struct tokens {
    char *next, *end;
};

static char *token(struct tokens *t)
{
    if (t->next >= t->end) {
        fprintf(stderr, "driver: SPEC ends in the middle of a case\n");
        exit(2);
    }
    char *s = t->next;
    t->next += strlen(s) + 1;
    return s;
}

static char **token_list(struct tokens *t)
{
    long n = atol(token(t));
    char **list = calloc(n + 1, sizeof *list);
    for (long i = 0; i < n; i++)
        list[i] = token(t);
    return list;
}

static int read_spec(const char *path, struct spec **out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        die(path);
    struct stat st;
    fstat(fileno(f), &st);
    char *buf = malloc(st.st_size + 1);
    if (fread(buf, 1, st.st_size, f) != (size_t)st.st_size)
        die(path);
    fclose(f);
    buf[st.st_size] = '\0';

    struct tokens t = {buf, buf + st.st_size};
    struct spec *specs = NULL;
    int n = 0;
    while (t.next < t.end) {
        specs = realloc(specs, (n + 1) * sizeof *specs);
        struct spec *s = &specs[n++];
        s->calls = atol(token(&t));
        const char *cwd = token(&t);
        s->dirfd = open(cwd, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (s->dirfd < 0)
            die(cwd);
        s->program = token(&t);
        s->argv = token_list(&t);
        s->envp = token_list(&t);
        s->done = 0;
        s->ns = calloc(s->calls > 0 ? s->calls : 1, sizeof *s->ns);
        s->faults = calloc(s->calls > 0 ? s->calls : 1, sizeof *s->faults);
    }
    *out = specs;
    return n;
}

/* One spawn + wait; returns the elapsed ns (and the child's minor page
 * faults in *faults), or exits on a failed child. */
static long long call(const struct spec *s, int index, long *faults)
{
    if (fchdir(s->dirfd) < 0)
        die("fchdir");
    pid_t pid;
    int status;
    struct rusage usage;
    long long start = now_ns();
    int rc = posix_spawn(&pid, s->program, NULL, NULL, s->argv, s->envp);
    if (rc != 0) {
        fprintf(log_file, "case %d: cannot run %s: %s\n", index, s->program, strerror(rc));
        exit(1);
    }
    while (wait4(pid, &status, 0, &usage) < 0)
        if (errno != EINTR)
            die("wait4");
    long long elapsed = now_ns() - start;
    if (WIFSIGNALED(status)) {
        fprintf(log_file, "case %d: %s killed by signal %d\n", index, s->program,
                WTERMSIG(status));
        exit(1);
    }
    if (WEXITSTATUS(status) != 0) {
        fprintf(log_file, "case %d: %s exited with status %d\n", index, s->program,
                WEXITSTATUS(status));
        exit(1);
    }
    *faults = usage.ru_minflt;
    return elapsed;
}

/* A fixed-seed xorshift: the same shuffles on every run. */
static unsigned long long rng_state = 0x9E3779B97F4A7C15ULL;

static unsigned long long next_random(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void shuffle(int *order, int n)
{
    for (int i = n - 1; i > 0; i--) {
        int j = (int)(next_random() % (unsigned long long)(i + 1));
        int t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
}

/* Does case s take part in round r of rounds? Spreads s->calls evenly. */
static int due(const struct spec *s, long r, long rounds)
{
    return (r + 1) * s->calls / rounds != r * s->calls / rounds;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: driver SPEC ROUNDS WARMUP\n");
        return 2;
    }
    struct spec *specs;
    int n = read_spec(argv[1], &specs);
    long rounds = atol(argv[2]), warmup = atol(argv[3]);

    /* Keep our own stdout/stderr (close-on-exec, out of the children's
     * reach), and point fds 1 and 2 at /dev/null for the children. */
    FILE *report = fdopen(fcntl(1, F_DUPFD_CLOEXEC, 3), "w");
    log_file = fdopen(fcntl(2, F_DUPFD_CLOEXEC, 3), "w");
    int null = open("/dev/null", O_WRONLY);
    if (!report || !log_file || null < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
        die("setting up file descriptors");
    close(null);

    long ignored;
    for (long r = 0; r < warmup; r++)
        for (int i = 0; i < n; i++)
            call(&specs[i], i, &ignored);

    int *order = malloc(n * sizeof *order);
    for (int i = 0; i < n; i++)
        order[i] = i;
    for (long r = 0; r < rounds; r++) {
        shuffle(order, n);
        for (int k = 0; k < n; k++) {
            int i = order[k];
            struct spec *s = &specs[i];
            if (due(s, r, rounds) && s->done < s->calls) {
                s->ns[s->done] = call(s, i, &s->faults[s->done]);
                s->done++;
            }
        }
    }

    for (int i = 0; i < n; i++) {
        for (long j = 0; j < specs[i].done; j++)
            fprintf(report, j ? " %lld" : "%lld", specs[i].ns[j]);
        fputc('\n', report);
        for (long j = 0; j < specs[i].done; j++)
            fprintf(report, j ? " %ld" : "%ld", specs[i].faults[j]);
        fputc('\n', report);
    }
    fclose(report);
    return 0;
}
