/* The containerd Task API ("containerd.task.v2.Task") served to containerd: thin handlers that
 * decode, find the container/process, call the core and encode. */
#pragma once

#include "shim-pod.h"
#include "ttrpc.h"

#define SHIM_TASK_SERVICE "containerd.task.v2.Task"

/* Registers every Task method on @server, acting on @pod. */
void shim_task_service_register(TtrpcServer *server, ShimPod *pod);
