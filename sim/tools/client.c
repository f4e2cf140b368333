/*
 * atomic-host-sim: the thin entry point of a stand-in tool (`atomic`, `rpm-ostree`, `systemctl`, `reboot`,
 * `systemd-tmpfiles`) on a simulated host. Copied into DIR/<host>/bin/ under the tool's name by sim/toolClient.ts,
 * compiled with the machine's `cc` and these definitions:
 *   ATS_NODE      absolute path of node        (the fallback runs the tool's Node entry point with it)
 *   ATS_SIM_DIR   absolute path of bin/sim      (where the Node entry points are)
 *
 * Inside the host's mount namespace it sends its pid, tool name, cwd, argv and environment to the host's tool
 * server (sim/toolServer.ts, in the host's supervisor, socket /run/atomic-host-sim/tools.sock: /run is the host's
 * own), writes what the server relays to fds 1 and 2, and exits with the tool's status. It does not catch any
 * signal: killed, it dies at once, the server sees the connection drop and aborts the tool's work.
 *
 * Outside a host's namespace (no such socket, or $ATOMIC_SIM_ROOT set, as in the tools' own tests) it runs the
 * Node entry point as the shell wrappers did before: same environment, same argv.
 *
 * Wire format. Request: u32 little-endian length, then NUL-terminated strings: "ATS1", pid, tool, cwd, argc,
 * argv[1..argc], then "KEY=VALUE" for each environment variable. Response: frames of one type byte (1 stdout,
 * 2 stderr, 3 exit status as decimal text), a u32 little-endian length and the data.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#ifndef ATS_NODE
#error "ATS_NODE must be defined"
#endif
#ifndef ATS_SIM_DIR
#error "ATS_SIM_DIR must be defined"
#endif

#define SOCKET_PATH "/run/atomic-host-sim/tools.sock"

extern char **environ;

static char *buf;
static size_t len, cap;

static void put(const char *s) {
  size_t n = strlen(s) + 1;
  if (len + n > cap) {
    cap = (len + n) * 2;
    buf = realloc(buf, cap);
    if (!buf) {
      perror("atomic-host-sim client");
      exit(255);
    }
  }
  memcpy(buf + len, s, n);
  len += n;
}

static int write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static int read_all(int fd, char *p, size_t n) {
  while (n > 0) {
    ssize_t r = read(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    p += r;
    n -= (size_t)r;
  }
  return 0;
}

/* The Node entry point, as the shell wrapper `exec node bin/sim/tools/<tool>.js "$@"` ran it. */
static void run_node(const char *tool, const char *host_dir, int argc, char **argv) {
  char cluster_dir[PATH_MAX], path_env[PATH_MAX + 64], script[PATH_MAX];
  snprintf(cluster_dir, sizeof cluster_dir, "%s", host_dir);
  char *slash = strrchr(cluster_dir, '/');
  if (slash && slash != cluster_dir) *slash = '\0';
  snprintf(path_env, sizeof path_env, "%s/bin:/usr/sbin:/usr/bin:/sbin:/bin", host_dir);
  snprintf(script, sizeof script, "%s/tools/%s.js", ATS_SIM_DIR, tool);
  setenv("ATOMIC_SIM_HOST_DIR", host_dir, 1);
  setenv("ATOMIC_SIM_CLUSTER_DIR", cluster_dir, 1);
  setenv("PATH", path_env, 1);
  char **args = calloc((size_t)argc + 2, sizeof *args);
  args[0] = ATS_NODE;
  args[1] = script;
  for (int i = 1; i < argc; i++) args[i + 1] = argv[i];
  execv(ATS_NODE, args);
  fprintf(stderr, "%s: cannot run %s: %s\n", tool, ATS_NODE, strerror(errno));
  exit(127);
}

int main(int argc, char **argv) {
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) {
    perror("atomic-host-sim client: /proc/self/exe");
    return 255;
  }
  exe[n] = '\0';
  /* DIR/<host>/bin/<tool> */
  char *slash = strrchr(exe, '/');
  const char *tool = slash + 1;
  *slash = '\0';
  slash = strrchr(exe, '/');
  if (slash) *slash = '\0';
  const char *host_dir = exe;

  const char *root = getenv("ATOMIC_SIM_ROOT");
  int fd = -1;
  if (!root || !*root) {
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    strcpy(addr.sun_path, SOCKET_PATH);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
      close(fd);
      fd = -1;
    }
  }
  if (fd < 0) run_node(tool, host_dir, argc, argv);

  char num[32], cwd[PATH_MAX];
  len = 4;
  cap = 4096;
  buf = malloc(cap);
  put("ATS1");
  snprintf(num, sizeof num, "%d", (int)getpid());
  put(num);
  put(tool);
  put(getcwd(cwd, sizeof cwd) ? cwd : "/");
  snprintf(num, sizeof num, "%d", argc - 1);
  put(num);
  for (int i = 1; i < argc; i++) put(argv[i]);
  for (char **e = environ; *e; e++) put(*e);
  uint32_t body = (uint32_t)(len - 4);
  unsigned char *h = (unsigned char *)buf;
  h[0] = body & 0xff, h[1] = (body >> 8) & 0xff, h[2] = (body >> 16) & 0xff, h[3] = (body >> 24) & 0xff;
  if (write_all(fd, buf, len) != 0) {
    fprintf(stderr, "%s: the host's tool server did not take the request: %s\n", tool, strerror(errno));
    return 255;
  }

  /* A reader gone (`| head`) must not kill the client before it has the exit status. */
  signal(SIGPIPE, SIG_IGN);
  unsigned char fh[5];
  char *data = NULL;
  size_t data_cap = 0;
  for (;;) {
    if (read_all(fd, (char *)fh, 5) != 0) {
      fprintf(stderr, "%s: the host's tool server closed the connection\n", tool);
      return 255;
    }
    size_t dl = (size_t)fh[1] | (size_t)fh[2] << 8 | (size_t)fh[3] << 16 | (size_t)fh[4] << 24;
    if (dl + 1 > data_cap) {
      data_cap = dl + 1;
      data = realloc(data, data_cap);
      if (!data) return 255;
    }
    if (read_all(fd, data, dl) != 0) {
      fprintf(stderr, "%s: the host's tool server closed the connection\n", tool);
      return 255;
    }
    if (fh[0] == 3) {
      data[dl] = '\0';
      return atoi(data);
    }
    write_all(fh[0] == 2 ? 2 : 1, data, dl);
  }
}
