/* The mounts of a default OCI spec (those containerd's default spec has), as the `"mounts": [...]`
 * member of a JSON object, for the test specs of tests/agent and tests/container. */
#pragma once

#define OCI_TEST_DEFAULT_MOUNTS                                                                    \
    " \"mounts\": ["                                                                               \
    "  {\"destination\": \"/proc\", \"type\": \"proc\", \"source\": \"proc\"},"                    \
    "  {\"destination\": \"/dev\", \"type\": \"tmpfs\", \"source\": \"tmpfs\","                    \
    "   \"options\": [\"nosuid\", \"strictatime\", \"mode=755\", \"size=65536k\"]},"               \
    "  {\"destination\": \"/dev/pts\", \"type\": \"devpts\", \"source\": \"devpts\","              \
    "   \"options\": [\"nosuid\", \"noexec\", \"newinstance\", \"ptmxmode=0666\", "                \
    "\"mode=0620\"]},"                                                                             \
    "  {\"destination\": \"/dev/shm\", \"type\": \"tmpfs\", \"source\": \"shm\","                  \
    "   \"options\": [\"nosuid\", \"noexec\", \"nodev\", \"mode=1777\", \"size=65536k\"]},"        \
    "  {\"destination\": \"/dev/mqueue\", \"type\": \"mqueue\", \"source\": \"mqueue\","           \
    "   \"options\": [\"nosuid\", \"noexec\", \"nodev\"]},"                                        \
    "  {\"destination\": \"/sys\", \"type\": \"sysfs\", \"source\": \"sysfs\","                    \
    "   \"options\": [\"nosuid\", \"noexec\", \"nodev\", \"ro\"]}],"
