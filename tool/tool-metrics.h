/* `secure-container metrics [--listen HOST:PORT]`: the node's pods in Prometheus' text format,
 * gathered from each pod's shim (tool-pods.h): VM CPU and memory (libvirt), guest memory and
 * load (its agent), shim and agent resident memory, containers, pod start latency (a
 * histogram), agent call errors. Printed once, or served over HTTP at /metrics. */
#pragma once

int tool_metrics(int argc, char **argv);

/* One scrape, as served. */
char *tool_metrics_scrape(void);
