/*
 * atomic-host-sim exec wrapper: root's login shell on every simulated host (sim/tools/exec-wrapper.ts says what
 * it does; this is the compiled form, the Perl script there is the fallback on a machine without a C compiler).
 *
 * sshd runs it as a login shell: `exec-wrapper -c COMMAND` for a command, `-exec-wrapper` (argv[0] with a dash)
 * for a shell. It runs the client's command with /bin/bash -c, or a login bash, SHELL=/bin/bash as sshd would
 * have set it for a bash login shell, stdin/stdout/stderr passed straight
 * through, forwards the signals sshd delivers to the session, and appends one JSON line per command to the host's
 * commands.log with a single write(2) on an O_APPEND descriptor (concurrent sessions' lines never interleave).
 * A command killed by a signal is logged as such, and the wrapper then dies of the same signal, so sshd reports
 * exit-signal to the client as it would for the bare command.
 *
 * Compiled once per machine (sim/toolClient.ts, statically when the C library allows) and copied to each host's
 * DIR/<host>/exec-wrapper; its settings are read from the file beside it, DIR/<host>/exec-wrapper.conf:
 *   log <path>        commands.log
 *   faults <path>     faults.json ("slowMs": every command starts that much later)
 *   env <KEY=VALUE>   set for the command (the host's PATH, ATOMIC_SIM_HOST_DIR, ...)
 * It exists because Perl's start-up (about 15 ms of CPU here) was most of what an exec on a pooled connection cost.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pid_t child = -1;

static void forward(int sig) {
  if (child > 0) kill(child, sig);
}

/* Reads a whole (small) file; NULL when it cannot be read. */
static char *slurp(const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NULL;
  size_t cap = 4096, len = 0;
  char *buf = malloc(cap + 1);
  for (;;) {
    if (len == cap) {
      cap *= 2;
      buf = realloc(buf, cap + 1);
    }
    ssize_t n = read(fd, buf + len, cap - len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    len += (size_t)n;
  }
  close(fd);
  buf[len] = '\0';
  return buf;
}

/* Appends `s` to `out` as a JSON string, escaped as the Perl wrapper does (bytes above 0x7f pass through). */
static void json_string(char **out, size_t *len, size_t *cap, const char *s) {
  size_t need = *len + strlen(s) * 6 + 3;
  if (need > *cap) {
    *cap = need * 2;
    *out = realloc(*out, *cap);
  }
  char *p = *out + *len;
  *p++ = '"';
  for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
    switch (*c) {
      case '"': *p++ = '\\'; *p++ = '"'; break;
      case '\\': *p++ = '\\'; *p++ = '\\'; break;
      case '\n': *p++ = '\\'; *p++ = 'n'; break;
      case '\r': *p++ = '\\'; *p++ = 'r'; break;
      case '\t': *p++ = '\\'; *p++ = 't'; break;
      default:
        if (*c < 0x20 || *c == 0x7f) p += sprintf(p, "\\u%04x", *c);
        else *p++ = (char)*c;
    }
  }
  *p++ = '"';
  *len = (size_t)(p - *out);
}

int main(int argc, char **argv_in) {
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 6);
  if (n < 0) {
    perror("exec-wrapper: /proc/self/exe");
    return 127;
  }
  strcpy(self + n, ".conf");
  char *conf = slurp(self);
  if (!conf) {
    fprintf(stderr, "exec-wrapper: %s: %s\n", self, strerror(errno));
    return 127;
  }
  const char *log_path = NULL, *faults_path = NULL;
  for (char *line = strtok(conf, "\n"); line; line = strtok(NULL, "\n")) {
    if (strncmp(line, "log ", 4) == 0) log_path = line + 4;
    else if (strncmp(line, "faults ", 7) == 0) faults_path = line + 7;
    else if (strncmp(line, "env ", 4) == 0) putenv(line + 4);
  }

  const char *command = argc >= 3 && strcmp(argv_in[1], "-c") == 0 ? argv_in[2] : "";
  setenv("SHELL", "/bin/bash", 1);
  struct timespec started, ended;
  clock_gettime(CLOCK_REALTIME, &started);

  /* faults.json "slowMs": every command on this host starts that much later (a slow or overloaded host). */
  char *faults = faults_path ? slurp(faults_path) : NULL;
  if (faults) {
    char *k = strstr(faults, "\"slowMs\"");
    if (k) {
      k += 8;
      while (*k == ' ' || *k == '\t' || *k == '\n' || *k == '\r') k++;
      if (*k == ':') {
        long ms = strtol(k + 1, NULL, 10);
        if (ms > 0) {
          struct timespec d = {ms / 1000, (ms % 1000) * 1000000L};
          while (nanosleep(&d, &d) == -1 && errno == EINTR) {
          }
        }
      }
    }
    free(faults);
  }

  /* A login shell's argv[0] starts with a dash; bash then reads its profile, as it would on a real host. */
  char *argv[4] = {argv_in[0][0] == '-' ? "-bash" : "bash", NULL, NULL, NULL};
  if (*command) {
    argv[1] = "-c";
    argv[2] = (char *)command;
  }
  child = fork();
  if (child < 0) {
    perror("exec-wrapper: fork");
    return 127;
  }
  if (child == 0) {
    execv("/bin/bash", argv);
    fprintf(stderr, "exec-wrapper: /bin/bash: %s\n", strerror(errno));
    _exit(127);
  }
  /* A signal sshd delivers to the session (a client "signal" request) is meant for the command. */
  int forwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
  for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = forward;
    sigaction(forwarded[i], &sa, NULL);
  }
  int status = 0;
  struct rusage usage;
  memset(&usage, 0, sizeof usage);
  while (wait4(child, &status, 0, &usage) == -1 && errno == EINTR) {
  }
  clock_gettime(CLOCK_REALTIME, &ended);

  struct tm t;
  gmtime_r(&started.tv_sec, &t);
  long duration = (long)((ended.tv_sec - started.tv_sec) * 1000 + (ended.tv_nsec - started.tv_nsec) / 1000000);
  size_t cap = strlen(command) * 6 + 256, len = 0;
  char *line = malloc(cap);
  len += (size_t)sprintf(line, "{\"time\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ\",\"command\":", t.tm_year + 1900,
                         t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, started.tv_nsec / 1000000);
  json_string(&line, &len, &cap, command);
  int signo = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  if (signo) {
    const char *name = sigabbrev_np(signo);
    char fallback[16];
    if (!name) {
      snprintf(fallback, sizeof fallback, "SIG%d", signo);
      name = fallback;
    }
    len += (size_t)sprintf(line + len, ",\"exitCode\":null,\"signal\":\"%s\"", name);
  } else {
    len += (size_t)sprintf(line + len, ",\"exitCode\":%d", WEXITSTATUS(status));
  }
  /* CPU of the command's processes (bash and every descendant it waited for), not of the tool server. */
  long cpu_us = (usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1000000L + usage.ru_utime.tv_usec +
                usage.ru_stime.tv_usec;
  len += (size_t)sprintf(line + len, ",\"durationMs\":%ld,\"cpuMs\":%ld.%03ld}\n", duration, cpu_us / 1000,
                         cpu_us % 1000);
  if (log_path) {
    int fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0) {
      ssize_t w;
      do w = write(fd, line, len);
      while (w < 0 && errno == EINTR);
      close(fd);
    }
  }
  if (signo) {
    signal(signo, SIG_DFL);
    kill(getpid(), signo);
    return 128 + signo;
  }
  return WEXITSTATUS(status);
}
