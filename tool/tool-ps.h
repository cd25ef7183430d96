/* `secure-container ps`: the pods on this host: containerd namespace, pod (sandbox) id, the CRI
 * pod's namespace/name when known, state, VM accelerator, memory, vCPUs, containers, uptime;
 * --json for tools. */
#pragma once

int tool_ps(int argc, char **argv);
